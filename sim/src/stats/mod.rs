//! Output statistics: observation tallies, time-weighted means, counts per day, mergeable
//! percentile histograms, and batch-means confidence intervals.
//!
//! All types are plain data updated by the model as events happen; none reads a clock. Those
//! kept per municipality or per segment are mergeable ([`Tally::merge`], [`Histogram::merge`],
//! [`DailyCounter::merge`]) so national figures are exact sums of the local ones.

mod batch_means;
mod counters;
mod histogram;
mod time_weighted;

pub use batch_means::{BatchMeans, ConfidenceInterval, student_t_975};
pub use counters::{DailyCounter, Tally};
pub use histogram::Histogram;
pub use time_weighted::TimeWeighted;
