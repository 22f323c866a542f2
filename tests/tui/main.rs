//! `mitid-lab tui` end to end: the real binary in a pseudo-terminal, its screen read back with a
//! terminal emulator (vt100), keys typed, the window resized, and the terminal checked to be
//! restored after quitting. And the refusal to start without a terminal.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const BIN: &str = env!("CARGO_BIN_EXE_mitid-lab");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The child's screen as a terminal would show it, fed from the pty as output arrives.
struct Screen {
    parser: vt100::Parser,
    output: mpsc::Receiver<Vec<u8>>,
}

impl Screen {
    fn pump(&mut self) {
        while let Ok(bytes) = self.output.try_recv() {
            self.parser.process(&bytes);
        }
    }

    fn text(&self) -> String {
        self.parser.screen().contents()
    }

    /// Waits until the screen shows `needle` (the dashboard redraws at most every 50 ms).
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            self.pump();
            let text = self.text();
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {needle:?}; it shows:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// One dashboard in a pty at a time: two at once (a certify run beside a recording) load a
/// 2-core machine enough that an Esc and the key after it can arrive as one Alt+key.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn size(cols: u16, rows: u16) -> PtySize {
    PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

#[test]
fn the_dashboard_runs_in_a_terminal_and_restores_it_on_quit() {
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (dir, script_arg) = script_file(
        "pty",
        "scenario: scenarios/demo-100k.yaml\nseed: 100\npopulation: 2000\nsteps:\n  - keys: m\n",
    );

    let Session {
        mut child,
        mut writer,
        mut screen,
        master,
    } = start(&["tui", "--script", &script_arg], 100, 30);

    // The script pressed `m`: the clock stands the day after the first milestone.
    let first = screen.wait_for("1/14 milestones passed");
    assert!(first.contains("1 Simulation"), "{first}");
    assert!(
        screen.parser.screen().alternate_screen(),
        "the dashboard draws on the alternate screen"
    );

    // Keys typed now reach it like the script's did.
    writer.write_all(b".").expect("type");
    screen.wait_for("day ");
    writer.write_all(b"2").expect("type");
    screen.wait_for("No results yet.");

    // certify against a named flaw, on the embedded components, from the palette. Its failing
    // steps panic on worker threads; none of that may reach the screen.
    writer
        .write_all(b":certify skip-nonce-check\r")
        .expect("type");
    let verdict = screen.wait_for("NOT CERTIFIED");
    assert!(verdict.contains("SP-TOKEN-NONCE-01"), "{verdict}");
    assert!(
        verdict.contains("reference --flaw skip-nonce-check"),
        "{verdict}"
    );
    assert!(!verdict.contains("panicked"), "{verdict}");
    assert!(
        screen.parser.screen().alternate_screen(),
        "still on the dashboard's screen"
    );
    writer.write_all(b"?").expect("type");
    screen.wait_for("Keys (? or esc closes)");
    writer.write_all(b"\x1b").expect("type");
    // A key right after Esc would read as Alt+key: a person waits for the help to close, and
    // so does the test.
    let deadline = Instant::now() + Duration::from_secs(30);
    while screen.text().contains("Keys (? or esc closes)") {
        assert!(Instant::now() < deadline, "esc did not close the help");
        std::thread::sleep(Duration::from_millis(50));
        screen.pump();
    }
    std::thread::sleep(Duration::from_millis(300));
    writer.write_all(b"1").expect("type");
    screen.wait_for("milestones passed");

    // A bigger window: the dashboard lays itself out again at the new size.
    master.resize(size(140, 40)).expect("resize");
    screen.parser.screen_mut().set_size(40, 140);
    let resized = screen.wait_for("NemID calendar");
    assert!(resized.contains("2 Conformance"), "{resized}");

    writer.write_all(b"q").expect("type");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("child status") {
            break status;
        }
        assert!(Instant::now() < deadline, "q did not quit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    std::thread::sleep(Duration::from_millis(200));
    screen.pump();
    let restored = screen.parser.screen();
    assert!(!restored.alternate_screen(), "left the alternate screen");
    assert!(!restored.hide_cursor(), "the cursor is shown again");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_a_terminal_it_refuses_with_exit_code_2_and_says_what_to_use() {
    let output = std::process::Command::new(BIN)
        .arg("tui")
        .current_dir(root())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("needs an interactive terminal"), "{stderr}");
    assert!(stderr.contains("mitid-lab simulate"), "{stderr}");
}

/// A demo script with `text` in a temp folder of its own (`mitid-tui-NAME-PID`): the folder,
/// for the test to remove, and the script's path as an argument.
fn script_file(name: &str, text: &str) -> (PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("mitid-tui-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let script = dir.join("script.yaml");
    std::fs::write(&script, text).expect("script written");
    let arg = script.display().to_string();
    (dir, arg)
}

/// The binary started in a pseudo-terminal of `cols` x `rows`, and its screen.
struct Session {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn std::io::Write + Send>,
    screen: Screen,
    master: Box<dyn portable_pty::MasterPty + Send>,
}

fn start(args: &[&str], cols: u16, rows: u16) -> Session {
    let pty = native_pty_system()
        .openpty(size(cols, rows))
        .expect("a pty");
    let mut command = CommandBuilder::new(BIN);
    command.args(args);
    command.cwd(root());
    command.env("TERM", "xterm-256color");
    let child = pty.slave.spawn_command(command).expect("the binary starts");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().expect("pty reader");
    let writer = pty.master.take_writer().expect("pty writer");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buffer = [0_u8; 8192];
        while let Ok(n) = reader.read(&mut buffer) {
            if n == 0 || tx.send(buffer[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    Session {
        child,
        writer,
        screen: Screen {
            parser: vt100::Parser::new(rows, cols, 0),
            output: rx,
        },
        master: pty.master,
    }
}

impl Session {
    fn type_keys(&mut self, keys: &[u8]) {
        self.writer.write_all(keys).expect("type");
        // One key at a time reads as typed, not as an escape sequence's tail.
        std::thread::sleep(Duration::from_millis(60));
    }

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("child status") {
                return status;
            }
            assert!(Instant::now() < deadline, "the dashboard did not end");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn a_trainer_records_a_journey_by_keystrokes_and_sigterm_restores_the_terminal() {
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut session = start(&["tui", "--population", "1000"], 100, 30);
    session.screen.wait_for("1 Simulation");
    session.type_keys(b"3");
    session.screen.wait_for("Journeys");
    session.type_keys(b"/");
    for key in b"a swipe" {
        session.type_keys(&[*key]);
    }
    session.type_keys(b"\r");
    session.screen.wait_for("(1)");
    // Enter records the journey on the embedded components.
    session.type_keys(b"\r");
    session.screen.wait_for("message 1/");
    // Right arrow steps through the messages until the phone shows the approval.
    let mut approved = false;
    for _ in 0..40 {
        session.type_keys(b"\x1b[C");
        session.screen.pump();
        if session.screen.text().contains("swipe to approve") {
            approved = true;
            break;
        }
    }
    assert!(approved, "{}", session.screen.text());
    let screen = session.screen.text();
    assert!(screen.contains("MitID app"), "{screen}");
    assert!(
        screen.contains("Broker"),
        "the sequence diagram's lifelines: {screen}"
    );
    // Danish narration.
    session.type_keys(b"d");
    session.screen.wait_for("swipe for at godkende");

    let pid = session.child.process_id().expect("a pid");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = session.wait_exit();
    assert_eq!(status.exit_code(), 130, "{status:?}");
    std::thread::sleep(Duration::from_millis(200));
    session.screen.pump();
    let restored = session.screen.parser.screen();
    assert!(!restored.alternate_screen(), "left the alternate screen");
    assert!(!restored.hide_cursor(), "the cursor is shown again");
}

/// The number in `screen` right after `label` (digits grouped by spaces, as the dashboard
/// prints them), if any.
fn figure_after(screen: &str, label: &str) -> Option<u64> {
    let rest = &screen[screen.find(label)? + label.len()..];
    let digits: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ' ')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[test]
fn live_mode_shows_the_flows_the_embedded_components_performed() {
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // To the first milestone (three weeks in): the sampled citizens' logins meet the broker.
    let (dir, script_arg) = script_file(
        "live",
        "scenario: scenarios/live-demo.yaml\nsteps:\n  - keys: m\n",
    );
    let mut session = start(
        &[
            "tui",
            "--live",
            "--live-citizens",
            "10",
            "--script",
            &script_arg,
        ],
        100,
        30,
    );
    // The components start and the citizens are synthesised before the first frame.
    session.screen.wait_for("● live");
    let deadline = Instant::now() + Duration::from_secs(120);
    let screen = loop {
        session.screen.pump();
        let screen = session.screen.text();
        if figure_after(&screen, "● live: ").is_some_and(|flows| flows > 0) {
            break screen;
        }
        assert!(
            Instant::now() < deadline,
            "no flow performed by the first milestone:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(screen.contains("milestones passed"), "{screen}");
    assert!(
        screen.contains("idp"),
        "the broker's row in the live panel: {screen}"
    );

    session.type_keys(b"q");
    let status = session.wait_exit();
    assert!(status.success(), "{status:?}");
    std::thread::sleep(Duration::from_millis(200));
    session.screen.pump();
    assert!(
        !session.screen.parser.screen().alternate_screen(),
        "left the alternate screen"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
