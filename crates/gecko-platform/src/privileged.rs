//! Running the one privileged script, `installer/gecko-driver.sh`.
//!
//! The script's text is compiled in ([`SCRIPT`]): nothing is read from a
//! user-writable file at run time. It runs as
//! `/bin/sh -c '<script>' gecko-driver.sh 'arg' 'arg'…` — a single command
//! string in which the script and every argument are single-quoted shell words
//! ([`shell_quote`]), so no path is ever pasted into script text.
//!
//! On macOS ([`Elevation::AdminPrompt`]) that string goes to
//! `/usr/bin/osascript` as an *argument* of a fixed AppleScript
//! ([`APPLESCRIPT`]): `do shell script (item 1 of argv) with administrator
//! privileges`. `do shell script` hands its string to `/bin/sh -c`, so the
//! string is exactly what [`Elevation::None`] runs through `/bin/sh -c` on
//! Linux, where the tests exercise it with hostile paths.

use crate::PlatformError;
use std::ffi::{OsStr, OsString};
use std::process::{Command, Output};

/// The install/uninstall/restart script (`installer/gecko-driver.sh`).
pub const SCRIPT: &str = include_str!("../../../installer/gecko-driver.sh");

/// The fixed AppleScript run by osascript: the command string and the prompt
/// arrive as `argv` items, never as script text.
pub const APPLESCRIPT: [&str; 3] = [
    "on run argv",
    "do shell script (item 1 of argv) with prompt (item 2 of argv) with administrator privileges",
    "end run",
];

/// How the script gets its privileges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elevation {
    /// Run the command string through `/bin/sh -c` as the current user (the
    /// Linux simulation, or a caller that is already root).
    None,
    /// macOS: one administrator prompt through
    /// `/usr/bin/osascript -e … with administrator privileges`.
    AdminPrompt,
}

/// Quotes a string as one POSIX shell word: `'…'`, each `'` written `'\''`.
/// Everything else (spaces, `"`, `$()`, backticks, newlines) is literal inside
/// single quotes. Errors on non-UTF-8 (AppleScript passes text) and NUL.
pub fn shell_quote(s: &OsStr) -> Result<String, PlatformError> {
    let s = s.to_str().ok_or_else(|| PlatformError::Script {
        action: "quoting an argument".into(),
        detail: format!("{s:?} is not valid UTF-8; rename it (macOS paths are UTF-8)"),
    })?;
    if s.contains('\0') {
        return Err(PlatformError::Script {
            action: "quoting an argument".into(),
            detail: "an argument contains a NUL byte".into(),
        });
    }
    Ok(format!("'{}'", s.replace('\'', r"'\''")))
}

/// The command string that runs [`SCRIPT`] with `args`:
/// `/bin/sh -c '<script>' gecko-driver.sh 'arg1' 'arg2' …`.
pub fn command_string(args: &[OsString]) -> Result<String, PlatformError> {
    let mut cmd = String::from("/bin/sh -c ");
    cmd.push_str(&shell_quote(OsStr::new(SCRIPT))?);
    cmd.push_str(" gecko-driver.sh");
    for a in args {
        cmd.push(' ');
        cmd.push_str(&shell_quote(a)?);
    }
    Ok(cmd)
}

/// The process that runs the script with `args`, elevated as asked.
/// `prompt` is what the macOS administrator dialog says.
pub fn command(elevation: Elevation, args: &[OsString], prompt: &str) -> Result<Command, PlatformError> {
    let cmd = command_string(args)?;
    Ok(match elevation {
        Elevation::None => {
            let mut c = Command::new("/bin/sh");
            c.arg("-c").arg(cmd);
            c
        }
        Elevation::AdminPrompt => {
            let mut c = Command::new("/usr/bin/osascript");
            for line in APPLESCRIPT {
                c.arg("-e").arg(line);
            }
            c.arg(cmd).arg(prompt);
            c
        }
    })
}

/// What a script run printed, and whether it succeeded.
#[derive(Debug, Clone)]
pub struct ScriptRun {
    /// The script's action (`install`, `uninstall`, …).
    pub action: String,
    /// Its output lines ("gecko-driver: …" prefix removed), stdout then stderr.
    pub lines: Vec<String>,
    /// Exit status (None: killed by a signal).
    pub code: Option<i32>,
}

impl ScriptRun {
    /// Whether the script exited 0.
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
    /// The last few lines, for error messages.
    pub fn tail(&self) -> String {
        let n = self.lines.len();
        self.lines[n.saturating_sub(4)..].join("\n  ")
    }
}

/// Runs the script: `base` (e.g. `--root DIR --sim`), then `action`, then
/// `args`; `env` adds environment variables (the simulation's test hooks).
/// A non-zero exit is returned as a [`ScriptRun`], not an error; an
/// osascript "User canceled" is [`PlatformError::Cancelled`].
pub fn run(
    elevation: Elevation,
    base: &[OsString],
    action: &str,
    args: &[OsString],
    env: &[(String, String)],
    prompt: &str,
) -> Result<ScriptRun, PlatformError> {
    let mut all: Vec<OsString> = base.to_vec();
    all.push(action.into());
    all.extend(args.iter().cloned());
    let mut c = command(elevation, &all, prompt)?;
    for (k, v) in env {
        c.env(k, v);
    }
    let out: Output = c.output().map_err(|e| PlatformError::Script {
        action: action.into(),
        detail: format!("could not start {:?}: {e}", c.get_program()),
    })?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    // `do shell script` turns newlines into carriage returns.
    let lines: Vec<String> = text
        .split(['\n', '\r'])
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.strip_prefix("gecko-driver: ").unwrap_or(l).to_owned())
        .collect();
    if elevation == Elevation::AdminPrompt && !out.status.success() && text.contains("(-128)") {
        return Err(PlatformError::Cancelled(action.into()));
    }
    Ok(ScriptRun { action: action.into(), lines, code: out.status.code() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_plain_and_hostile() {
        assert_eq!(shell_quote(OsStr::new("a b")).unwrap(), "'a b'");
        assert_eq!(shell_quote(OsStr::new("it's")).unwrap(), r"'it'\''s'");
        assert_eq!(shell_quote(OsStr::new("")).unwrap(), "''");
    }

    #[test]
    fn applescript_is_fixed_and_takes_everything_from_argv() {
        let c = command(Elevation::AdminPrompt, &["/tmp/x'y".into()], "Gecko").unwrap();
        let args: Vec<_> = c.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(c.get_program(), "/usr/bin/osascript");
        assert_eq!(&args[..6], ["-e", APPLESCRIPT[0], "-e", APPLESCRIPT[1], "-e", APPLESCRIPT[2]]);
        // The AppleScript lines never contain an argument.
        for line in APPLESCRIPT {
            assert!(!line.contains("/tmp"));
        }
        assert_eq!(args.len(), 8);
        assert!(args[6].ends_with(r"'/tmp/x'\''y'"));
        assert_eq!(args[7], "Gecko");
    }
}
