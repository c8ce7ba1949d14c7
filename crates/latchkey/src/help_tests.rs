//! Every command says what it does, every flag and argument what it is,
//! and every `--help` ends with examples that parse.

use clap::{CommandFactory, Parser};

use super::Cli;

/// Every command of the tree with its path (`latchkey client secret rotate`).
fn walk(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
    out.push((path.to_owned(), cmd.clone()));
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        walk(sub, &format!("{path} {}", sub.get_name()), out);
    }
}

fn commands() -> Vec<(String, clap::Command)> {
    let mut root = Cli::command();
    root.build();
    let mut out = Vec::new();
    walk(&root, "latchkey", &mut out);
    out
}

/// Splits an example line like a shell would, for the words clap sees:
/// quotes removed, `$(…)` kept in its word, leading `VAR=value` assignments
/// and everything from a redirection, pipe or comment on dropped.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quote, mut started, mut depth) = (None, false, 0usize);
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '(') if cur.ends_with('$') || depth > 0 => {
                depth += 1;
                cur.push(c);
            }
            (None, ')') if depth > 0 => {
                depth -= 1;
                cur.push(c);
            }
            (None, c) if depth > 0 => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                started = true;
            }
            (None, '|' | '>' | '<' | '#') => break,
            (None, c) if c.is_whitespace() => {
                if started || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                started = false;
            }
            (_, c) => cur.push(c),
        }
    }
    if started || !cur.is_empty() {
        out.push(cur);
    }
    let first = out.iter().position(|w| w == "latchkey").unwrap_or(0);
    out.split_off(first)
}

#[test]
fn every_command_and_argument_is_described() {
    let mut missing = Vec::new();
    for (path, cmd) in commands() {
        if cmd.get_about().is_none_or(|a| a.to_string().trim().is_empty()) {
            missing.push(format!("{path}: no description"));
        }
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if matches!(id, "help" | "version") {
                continue;
            }
            let help = arg.get_help().or(arg.get_long_help()).map(ToString::to_string).unwrap_or_default();
            if help.trim().is_empty() {
                missing.push(format!("{path}: argument {id} has no description"));
            }
        }
    }
    assert!(missing.is_empty(), "undocumented:\n{}", missing.join("\n"));
}

#[test]
fn every_help_ends_with_examples_that_parse() {
    let mut bad = Vec::new();
    let mut count = 0;
    for (path, cmd) in commands() {
        let after = cmd.get_after_help().map(ToString::to_string).unwrap_or_default();
        let Some((_, examples)) = after.split_once("Examples:\n") else {
            bad.push(format!("{path}: no \"Examples:\" in after_help"));
            continue;
        };
        let lines: Vec<&str> =
            examples.lines().take_while(|l| l.starts_with("  ")).filter(|l| l.contains("latchkey ")).collect();
        if lines.is_empty() {
            bad.push(format!("{path}: no example line"));
        }
        // An example of a command runs that command.
        let name = path.rsplit(' ').next().unwrap_or_default();
        if path != "latchkey" && !lines.iter().any(|l| words(l).iter().any(|w| w == name)) {
            bad.push(format!("{path}: no example uses {name}"));
        }
        for line in lines {
            count += 1;
            if let Err(e) = Cli::try_parse_from(words(line)) {
                bad.push(format!("{path}: example `{}` does not parse: {e}", line.trim()));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(count > 100, "{count} examples");
}

#[test]
fn the_top_level_help_lists_the_exit_codes() {
    let help = Cli::command().render_help().to_string();
    for line in ["3  not found", "4  conflict", "5  invalid input", "6  not signed in", "7  server unreachable"] {
        assert!(help.contains(line), "{line} in\n{help}");
    }
}

#[test]
fn example_lines_split_like_a_shell() {
    assert_eq!(
        words("  X=1 latchkey a --name 'two words' \"$S\" # comment"),
        ["latchkey", "a", "--name", "two words", "$S"]
    );
    assert_eq!(words("latchkey man | man -l -"), ["latchkey", "man"]);
    assert_eq!(words("latchkey x --d ''"), ["latchkey", "x", "--d", ""]);
    assert_eq!(words("latchkey backup /b/l-$(date +%F).db"), ["latchkey", "backup", "/b/l-$(date +%F).db"]);
}
