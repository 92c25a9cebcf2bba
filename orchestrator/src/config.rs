//! `sigillo serve --config FILE`: settings from a TOML file, under the environment and the
//! command line. Each key is a `serve` setting's name in snake_case (`block_interval_ms`,
//! `registries`…, listed in docs/configuration.md); precedence is flag, then environment
//! variable, then file, then default. The file's values go through the same parser and checks
//! as flags, so a wrong value stops the start with the same message, naming the key.

use std::ffi::OsString;
use std::path::Path;

use anyhow::{bail, Context as _};
use clap::parser::ValueSource;
use clap::{ArgMatches, Command};

/// The flags a configuration file adds to `argv` for the `serve` subcommand `matches`: one per
/// key whose setting came from neither the command line nor the environment.
pub fn extra_args(
    path: &Path,
    serve: &Command,
    matches: &ArgMatches,
) -> anyhow::Result<Vec<OsString>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the configuration {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
    let known: Vec<&clap::Arg> = serve
        .get_arguments()
        .filter(|arg| arg.get_long().is_some() && arg.get_id() != "config")
        .collect();
    let mut extra = Vec::new();
    for (key, value) in &table {
        let Some(arg) = known.iter().find(|arg| arg.get_id().as_str() == key) else {
            let names: Vec<&str> = known.iter().map(|arg| arg.get_id().as_str()).collect();
            bail!(
                "{}: unknown setting {key:?}; the settings are: {}",
                path.display(),
                names.join(", ")
            );
        };
        let text = match value {
            toml::Value::String(text) => text.clone(),
            toml::Value::Integer(number) => number.to_string(),
            toml::Value::Float(number) => number.to_string(),
            toml::Value::Boolean(flag) => flag.to_string(),
            other => bail!(
                "{}: {key} must be a string, a number or a boolean, not {}",
                path.display(),
                other.type_str()
            ),
        };
        if matches!(
            matches.value_source(key),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        let long = arg
            .get_long()
            .expect("only settings with a long flag are kept");
        extra.push(OsString::from(format!("--{long}")));
        extra.push(OsString::from(text));
    }
    Ok(extra)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    /// docs/configuration.md lists every setting, and sigillo.example.toml is a valid file.
    #[test]
    fn every_setting_is_documented_and_the_example_parses() {
        let command = crate::Cli::command();
        let serve = command.find_subcommand("serve").expect("serve exists");
        let docs = include_str!("../../docs/configuration.md");
        let example: toml::Table =
            toml::from_str(include_str!("../../sigillo.example.toml")).expect("valid TOML");
        for arg in serve.get_arguments().filter(|a| a.get_long().is_some()) {
            let id = arg.get_id().as_str();
            if id == "config" {
                continue;
            }
            assert!(
                docs.contains(&format!("| `{id}` |")),
                "docs/configuration.md lacks {id}"
            );
            assert!(
                example.contains_key(id)
                    || include_str!("../../sigillo.example.toml").contains(&format!("# {id} = ")),
                "sigillo.example.toml lacks {id}"
            );
        }
        let argv = ["sigillo", "serve"];
        let matches = command.clone().get_matches_from(argv);
        let (_, serve_matches) = matches.subcommand().expect("serve");
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sigillo.example.toml");
        let extra =
            super::extra_args(&path, serve, serve_matches).expect("the example's keys are known");
        assert!(extra.len() >= 2 * 10);
    }
}
