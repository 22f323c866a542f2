//! Closed-form and numerically exact steady-state figures for the queues the validation
//! scenarios simulate, so the kernel can be checked against theory.
//!
//! Notation: `servers` = c, arrival rate λ, service rate μ = 1 / mean service time, patience
//! (abandonment) rate θ = 1 / mean patience, offered load a = λ/μ, utilisation ρ = a/c.
//! All rates are per minute and all waits in minutes.
//!
//! * **M/M/c (Erlang C)**: P(wait) = C(c, a) from the Erlang B recursion
//!   B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)), C = c·B / (c − a(1 − B)); mean wait
//!   `W_q = C / (cμ − λ)`. Source: e.g. Kleinrock, *Queueing Systems* vol. 1 (1975), §3.5;
//!   Gross & Harris, *Fundamentals of Queueing Theory*, §2.3.
//! * **M/M/c+M (Erlang A)**: the birth–death chain with death rate nμ for n ≤ c and
//!   cμ + (n − c)θ above, solved numerically (terms are summed until they vanish, which happens
//!   super-exponentially once (n − c)θ exceeds λ). By PASTA P(wait) = P(N ≥ c); by Little
//!   `W_q = L_q/λ` (time in queue of every arrival, abandoning ones until they leave); the
//!   abandonment rate is `θ·L_q`. Source: Garnett, Mandelbaum & Reiman, "Designing a call
//!   center with impatient customers", MSOM 4(3), 2002.
//! * **M/D/1**: Pollaczek–Khinchine, `W_q = ρ·s / (2(1 − ρ))` with s the service time, and
//!   P(wait) = ρ.
//! * **M/D/c, c > 1**: no closed form; Cosmetatos' approximation (1975)
//!   `W_q(M/D/c) ≈ ½·(1 + (1 − ρ)(c − 1)(√(4 + 5c) − 2) / (16ρc))·W_q(M/M/c)`, within a few
//!   per cent for moderate loads (Tijms, *A First Course in Stochastic Models*, 2003, §5.4).
//!   Flagged `exact: false` so checks use a tolerance instead of the confidence interval.

use serde::Serialize;

/// Steady-state figures of a queue model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueTheory {
    /// Which formula: `"erlang-c"`, `"erlang-a"`, `"pollaczek-khinchine"` or `"cosmetatos"`.
    pub formula: &'static str,
    /// `false` for approximations (Cosmetatos).
    pub exact: bool,
    /// Mean time in queue per arrival, minutes.
    pub mean_wait_minutes: f64,
    /// Probability that an arrival has to wait; `None` where the formula gives none.
    pub p_wait: Option<f64>,
    /// Long-run fraction of server time busy.
    pub utilization: f64,
    /// Fraction of arrivals that abandon.
    pub abandoned_fraction: f64,
}

/// Erlang B blocking probability B(c, a) (the recursion is stable for any c).
#[must_use]
pub fn erlang_b(servers: u32, offered_load: f64) -> f64 {
    (1..=servers).fold(1.0, |b, k| {
        offered_load * b / (f64::from(k) + offered_load * b)
    })
}

/// Erlang C probability of waiting C(c, a); `None` unless a < c (otherwise the queue grows
/// without bound).
#[must_use]
pub fn erlang_c(servers: u32, offered_load: f64) -> Option<f64> {
    let c = f64::from(servers);
    if servers == 0 || !(offered_load >= 0.0 && offered_load < c) {
        return None;
    }
    let b = erlang_b(servers, offered_load);
    Some(c * b / (c - offered_load * (1.0 - b)))
}

/// M/M/c figures; `None` unless λ < cμ.
#[must_use]
pub fn mmc(servers: u32, arrival_rate: f64, service_rate: f64) -> Option<QueueTheory> {
    if service_rate <= 0.0 {
        return None;
    }
    let a = arrival_rate / service_rate;
    let p_wait = erlang_c(servers, a)?;
    let c = f64::from(servers);
    Some(QueueTheory {
        formula: "erlang-c",
        exact: true,
        mean_wait_minutes: p_wait / (c * service_rate - arrival_rate),
        p_wait: Some(p_wait),
        utilization: a / c,
        abandoned_fraction: 0.0,
    })
}

/// M/M/c+M (Erlang A) figures; stable for any load when the patience rate is positive.
/// `None` for non-positive or non-finite rates or zero servers.
#[must_use]
pub fn erlang_a(
    servers: u32,
    arrival_rate: f64,
    service_rate: f64,
    patience_rate: f64,
) -> Option<QueueTheory> {
    let valid = |x: f64| x.is_finite() && x > 0.0;
    if servers == 0 || !valid(arrival_rate) || !valid(service_rate) || !valid(patience_rate) {
        return None;
    }
    let c = f64::from(servers);
    // Probabilities relative to π_c: below c, t_{n-1} = t_n · nμ/λ.
    let mut below = 0.0;
    let mut t = 1.0;
    for n in (1..=servers).rev() {
        t *= f64::from(n) * service_rate / arrival_rate;
        below += t;
    }
    // At and above c: t_{c+j} = t_{c+j-1} · λ / (cμ + jθ).
    let mut at_or_above = 1.0;
    let mut queue_weighted = 0.0;
    let mut t = 1.0;
    let mut j = 0u64;
    loop {
        j += 1;
        t *= arrival_rate / (c * service_rate + j as f64 * patience_rate);
        at_or_above += t;
        queue_weighted += j as f64 * t;
        let shrinking = arrival_rate < c * service_rate + j as f64 * patience_rate;
        if shrinking && t < 1e-18 * at_or_above || j > 10_000_000 {
            break;
        }
    }
    let total = below + at_or_above;
    let p_wait = at_or_above / total;
    let lq = queue_weighted / total;
    let abandoned_fraction = patience_rate * lq / arrival_rate;
    Some(QueueTheory {
        formula: "erlang-a",
        exact: true,
        mean_wait_minutes: lq / arrival_rate,
        p_wait: Some(p_wait),
        utilization: arrival_rate * (1.0 - abandoned_fraction) / (c * service_rate),
        abandoned_fraction,
    })
}

/// M/D/c figures for a constant service time of `service_minutes`: exact for one server
/// (Pollaczek–Khinchine), Cosmetatos' approximation otherwise. `None` unless λ < c/s.
#[must_use]
pub fn mdc(servers: u32, arrival_rate: f64, service_minutes: f64) -> Option<QueueTheory> {
    if service_minutes <= 0.0 || servers == 0 {
        return None;
    }
    let c = f64::from(servers);
    let rho = arrival_rate * service_minutes / c;
    if !(rho > 0.0 && rho < 1.0) {
        return None;
    }
    if servers == 1 {
        return Some(QueueTheory {
            formula: "pollaczek-khinchine",
            exact: true,
            mean_wait_minutes: rho * service_minutes / (2.0 * (1.0 - rho)),
            p_wait: Some(rho),
            utilization: rho,
            abandoned_fraction: 0.0,
        });
    }
    let markov = mmc(servers, arrival_rate, 1.0 / service_minutes)?;
    let correction = (1.0 - rho) * (c - 1.0) * ((4.0 + 5.0 * c).sqrt() - 2.0) / (16.0 * rho * c);
    Some(QueueTheory {
        formula: "cosmetatos",
        exact: false,
        mean_wait_minutes: 0.5 * (1.0 + correction) * markov.mean_wait_minutes,
        p_wait: None,
        utilization: rho,
        abandoned_fraction: 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_matches_a_published_value() {
        // c = 2, a = 1: C = 1/3 (textbook M/M/2 at ρ = 0.5).
        let c = erlang_c(2, 1.0).unwrap();
        assert!((c - 1.0 / 3.0).abs() < 1e-12, "C(2,1) = {c}");
        assert_eq!(erlang_c(2, 2.0), None);
    }

    #[test]
    fn erlang_a_tends_to_erlang_c_as_patience_grows() {
        let c = mmc(5, 40.0 / 60.0, 1.0 / 6.0).unwrap();
        let a = erlang_a(5, 40.0 / 60.0, 1.0 / 6.0, 1e-9).unwrap();
        assert!(
            (a.mean_wait_minutes - c.mean_wait_minutes).abs() < 1e-4,
            "{a:?} vs {c:?}"
        );
        assert!(
            (a.p_wait.unwrap() - c.p_wait.unwrap()).abs() < 1e-6,
            "{a:?} vs {c:?}"
        );
    }
}
