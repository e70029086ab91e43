//! Fix commands with placeholders, as a user pastes them: unedited, bash runs
//! nothing; filled in from the finding's JSON (`where`), the command runs with
//! the value. `matrix` uses [`run_with_stub`] for the missing-tag case.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::{repo, rulerun};

/// Runs a fix step's `command` through bash with a stub `kubectl`/`aws` first on
/// PATH that records its arguments: unedited, the command must fail and the
/// stub must not run; with every placeholder filled in with `value` (by the
/// byte ranges of `where.command`, from the last), it must run the stub with
/// `want` (its `<NAME>`s replaced by `value`).
pub(crate) fn run_with_stub(step: &Value, want: &[String], value: &str) -> Result<(), String> {
    let command = step["command"].as_str().ok_or("no command")?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).map_err(|e| e.to_string())?;
    let log = dir.path().join("ran");
    for program in ["kubectl", "aws"] {
        let stub = bin.join(program);
        std::fs::write(
            &stub,
            format!("#!/bin/sh\necho {program} >> '{}'\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> '{}'; done\n", log.display(), log.display()),
        )
        .map_err(|e| e.to_string())?;
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
    }
    let run = |line: &str, cwd: &Path| {
        Command::new("bash")
            .args(["-c", line])
            .current_dir(cwd)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    bin.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .output()
    };
    // As printed: bash refuses the redirection from a file called TAG.
    let out = run(command, dir.path()).map_err(|e| e.to_string())?;
    if out.status.success() || log.exists() {
        return Err(format!("the unedited command ran: {command}"));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !stderr.contains("No such file or directory") && !stderr.contains("syntax error") {
        return Err(format!("the unedited command failed otherwise: {stderr}"));
    }
    // Filled in as a tool would: the ranges from the last.
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for p in step["placeholders"].as_array().ok_or("no placeholders")? {
        for r in p["where"]["command"].as_array().ok_or("no where.command")? {
            let (Some(start), Some(end)) = (r["start"].as_u64(), r["end"].as_u64()) else {
                return Err(format!("bad range {r}"));
            };
            ranges.push((start as usize, end as usize));
        }
    }
    ranges.sort_by_key(|r| std::cmp::Reverse(r.0));
    let mut filled = command.to_string();
    for (start, end) in ranges {
        filled.replace_range(start..end, value);
    }
    let out = run(&filled, dir.path()).map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "{filled}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let ran = std::fs::read_to_string(&log).map_err(|e| e.to_string())?;
    let want: Vec<String> = want.iter().map(|a| a.replace("<TAG>", value)).collect();
    let got: Vec<&str> = ran.lines().collect();
    if got != want {
        return Err(format!("ran {got:?}, expected {want:?}"));
    }
    Ok(())
}

#[test]
fn the_missing_tag_fix_leaves_the_tag_to_the_user_and_runs_only_filled_in() {
    let dir = tempfile::tempdir().unwrap();
    let facts = dir.path().join("not-found.yaml");
    std::fs::write(
        &facts,
        serde_json::to_string(&json!({
            "apiVersion": "rulerun.dev/v1",
            "kind": "Snapshot",
            "facts": {"aws/ecr/ImageNotFound": [{
                "registryId": "1234567890", "region": "us-west-2", "repositoryName": "retail-sample-app-ui",
                "imageId": {"imageTag": "1.2.1"}, "errorCode": "ImageNotFoundException", "message": "not found",
                "existingTags": ["latest", "1.3.0", "1.2.0", "1.1.9", "1.2.10", "0.9.1", "nightly"]
            }]}
        }))
        .unwrap(),
    )
    .unwrap();
    let fixture = repo("rules/eks-image-pull/fixtures/cluster-backoff.json");
    let run = rulerun(&[
        "check",
        "--facts",
        &fixture,
        "--facts",
        facts.to_str().unwrap(),
        "-o",
        "json",
    ]);
    let doc: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stderr));
    let finding = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "ecr-image-tag-not-found")
        .unwrap_or_else(|| panic!("{doc:#}"));
    let step = &finding["fix"][0];
    // As docs/findings-json.md shows it.
    assert_eq!(
        step["placeholders"],
        json!([{
            "name": "TAG",
            "description": "the tag to run instead of 1.2.1; the closest that exist: 1.2.0, 1.2.10, 1.3.0, 1.1.9, 0.9.1",
            "where": {
                "command": [{"start": 130, "end": 135}],
                "argv": [{"index": 6, "start": 67, "end": 72}]
            }
        }])
    );
    let want: Vec<String> = step["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        want.last().map(String::as_str),
        Some("ui=1234567890.dkr.ecr.us-west-2.amazonaws.com/retail-sample-app-ui:<TAG>")
    );
    run_with_stub(step, &want, "1.2.0").unwrap();
    // The text output says what to put there.
    let text = rulerun(&[
        "check",
        "--facts",
        &fixture,
        "--facts",
        facts.to_str().unwrap(),
    ]);
    assert!(
        text.stdout.contains(
            "           replace <TAG>: the tag to run instead of 1.2.1; the closest that exist: 1.2.0, 1.2.10, 1.3.0, 1.1.9, 0.9.1\n"
        ),
        "{}",
        text.stdout
    );
}
