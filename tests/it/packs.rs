//! Rule packs, `rulerun.yaml` and vendoring: packs vendored from a git repository
//! made in the test and from folders, `rulerun.lock`, tampering, traversal and
//! symbolic links refused, overrides and parameters, id collisions.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::rulerun_in;

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Team A",
            "-c",
            "user.email=team-a@example.com",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

const REGISTRY_RULE: &str = r#"rules:
  - id: pod-image-from-unapproved-registry
    title: A container runs an image from a registry the team has not approved
    severity: medium
    params:
      approvedRegistries:
        default: [registry.k8s.io]
        description: Registries (host names) images may come from.
    subject: {kind: k8s/v1/Pod}
    each: {as: container, path: "$.spec.containers[*]"}
    let:
      image: {call: image_ref, args: [$container.image]}
    when:
      not: {path: "$params.approvedRegistries[*]", equals: $image.registry}
    finding:
      message: "container `{{ container.name }}` runs an image from {{ image.registry }}, approved: {{ params.approvedRegistries | join(', ') }}"
"#;

const REGISTRY_TESTS: &str = r#"tests:
  - name: fires for ghcr.io
    facts: {k8s/v1/Pod: [{metadata: {name: web, namespace: shop}, spec: {containers: [{name: app, image: "ghcr.io/acme/web:2.1"}]}}]}
    expect: [{subject: shop/web, message: from ghcr.io}]
  - name: quiet for approved registries
    facts: {k8s/v1/Pod: [{metadata: {name: ok}, spec: {containers: [{name: a, image: "registry.k8s.io/pause:3.9"}]}}]}
    expect: []
"#;

const LATEST_RULE: &str = r#"rules:
  - id: pod-image-latest-tag
    title: A container runs an image by the `latest` tag
    severity: low
    subject: {kind: k8s/v1/Pod}
    each: {as: container, path: "$.spec.containers[*]"}
    let:
      image: {call: image_ref, args: [$container.image]}
    when: {path: $image.tag, equals: latest}
    finding:
      message: "container `{{ container.name }}` runs {{ image.canonical }}"
"#;

const SNAPSHOT: &str = r#"apiVersion: rulerun.dev/v1
kind: Snapshot
facts:
  k8s/v1/Pod:
    - apiVersion: v1
      kind: Pod
      metadata: {name: web, namespace: shop}
      spec:
        containers:
          - {name: app, image: "ghcr.io/acme/web:2.1"}
          - {name: proxy, image: "registry.k8s.io/pause:3.9"}
          - {name: tool, image: "busybox"}
"#;

/// A pack folder with one rule (and its tests).
fn make_pack(dir: &Path, name: &str, version: &str) {
    write(
        dir,
        "pack.yaml",
        &format!(
            "name: {name}\nversion: {version}\ndescription: test pack\nrulerun: \">=0.1.0\"\nrules:\n  - pod-image-from-unapproved-registry/rule.yaml\n"
        ),
    );
    write(
        dir,
        "pod-image-from-unapproved-registry/rule.yaml",
        REGISTRY_RULE,
    );
    write(
        dir,
        "pod-image-from-unapproved-registry/tests.yaml",
        REGISTRY_TESTS,
    );
}

/// A git repository holding a pack: `v1` with one rule; `v2` changes it and adds
/// another. Returns the repository folder.
fn make_repo(root: &Path) -> PathBuf {
    let repo = root.join("team-a-rules");
    make_pack(&repo, "team-a", "1.0.0");
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "v1"]);
    git(&repo, &["tag", "v1"]);
    write(
        &repo,
        "pod-image-from-unapproved-registry/rule.yaml",
        &REGISTRY_RULE.replace("severity: medium", "severity: high"),
    );
    write(&repo, "pod-image-latest-tag/rule.yaml", LATEST_RULE);
    write(
        &repo,
        "pack.yaml",
        "name: team-a\nversion: 1.1.0\nrulerun: \">=0.1.0\"\nrules:\n  - pod-image-from-unapproved-registry/rule.yaml\n  - pod-image-latest-tag/rule.yaml\n",
    );
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "v2"]);
    git(&repo, &["tag", "v2"]);
    repo
}

fn url(repo: &Path, reference: &str) -> String {
    format!("git+file://{}#{reference}", repo.display())
}

fn sha256_of(path: &Path) -> String {
    // Independent of the CLI's implementation: sha256sum when present.
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn vendors_a_pack_from_a_local_git_repository_and_records_it_in_the_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = make_repo(tmp.path());
    let platform = tmp.path().join("platform");
    fs::create_dir_all(&platform).unwrap();
    let v1 = git(&repo, &["rev-parse", "v1^{commit}"]);

    let run = rulerun_in(&platform, &["pack", "vendor", &url(&repo, "v1")]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.starts_with(&format!(
            "vendored team-a 1.0.0 from git+file://{}#v1, commit {}",
            repo.display(),
            &v1[..12]
        )),
        "{}",
        run.stdout
    );
    let dest = platform.join("vendor/rulepacks/team-a");
    assert!(
        dest.join("pod-image-from-unapproved-registry/rule.yaml")
            .is_file()
    );
    assert!(
        !dest.join(".git").exists(),
        "the repository itself is not copied"
    );

    let lock = fs::read_to_string(platform.join("rulerun.lock")).unwrap();
    let doc = rulerun_core::yaml::parse(&lock).unwrap().to_json();
    let p = &doc["packs"][0];
    assert_eq!(p["name"], "team-a");
    assert_eq!(p["version"], "1.0.0");
    assert_eq!(p["source"], format!("git+file://{}", repo.display()));
    assert_eq!(p["ref"], "v1");
    assert_eq!(p["commit"], v1.as_str());
    let files = p["files"].as_array().unwrap();
    assert_eq!(files.len(), 3, "{lock}");
    for f in files {
        let path = f["path"].as_str().unwrap();
        assert_eq!(f["sha256"], sha256_of(&dest.join(path)).as_str(), "{path}");
    }

    let run = rulerun_in(&platform, &["pack", "verify"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .starts_with("ok      team-a 1.0.0: 3 files match rulerun.lock"),
        "{}",
        run.stdout
    );

    // Without `packs:` in a configuration, built-in and vendored packs load.
    let run = rulerun_in(&platform, &["rules", "list"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("pod-image-from-unapproved-registry"))
        .unwrap();
    assert!(line.contains("team-a (vendored)"), "{line}");
    assert!(
        line.contains("(vendor/rulepacks/team-a/pod-image-from-unapproved-registry/rule.yaml:2:5)"),
        "{line}"
    );
    write(&platform, "snapshot.yaml", SNAPSHOT);
    let run = rulerun_in(&platform, &["check", "--facts", "snapshot.yaml"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("medium pod-image-from-unapproved-registry"),
        "{}",
        run.stdout
    );

    // The pack's own tests run from the vendored copy.
    let run = rulerun_in(&platform, &["test", "vendor/rulepacks/team-a"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);

    // Vendoring the same pack again is refused; update moves the ref.
    let run = rulerun_in(&platform, &["pack", "vendor", &url(&repo, "v1")]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("pack `team-a` is already vendored"),
        "{}",
        run.stderr
    );
    let v2 = git(&repo, &["rev-parse", "v2^{commit}"]);
    let run = rulerun_in(&platform, &["pack", "update", "team-a", "--ref", "v2"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout,
        format!(
            "updated team-a: 1.0.0 (v1, commit {}) -> 1.1.0 (v2, commit {})\n  added    pod-image-latest-tag\n  changed  pod-image-from-unapproved-registry\n",
            &v1[..12],
            &v2[..12]
        )
    );
    let lock = fs::read_to_string(platform.join("rulerun.lock")).unwrap();
    assert!(lock.contains(&format!("commit: \"{v2}\"")), "{lock}");
    assert!(lock.contains("ref: \"v2\""), "{lock}");
    let run = rulerun_in(&platform, &["pack", "verify"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);

    // A commit works as the ref, under another name.
    let run = rulerun_in(
        &platform,
        &["pack", "vendor", &url(&repo, &v1), "--name", "team-a-old"],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let run = rulerun_in(&platform, &["pack", "list"]);
    // (columns are as wide as the longest pack name)
    let want = format!(
        "team-a-old 1.0.0 vendored git+file://{}#{v1},",
        repo.display()
    );
    assert!(
        run.stdout.lines().any(|l| l
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .starts_with(&want)),
        "{}",
        run.stdout
    );
    // Both define the same rule id now: an error naming both files...
    let run = rulerun_in(&platform, &["rules", "list"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.contains("vendor/rulepacks/team-a-old/pod-image-from-unapproved-registry/rule.yaml:2:5: error: rule id `pod-image-from-unapproved-registry` of pack `team-a-old` is also defined by pack `team-a` at vendor/rulepacks/team-a/pod-image-from-unapproved-registry/rule.yaml:2:5"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("`rules: {pod-image-from-unapproved-registry: {from: team-a}}`"),
        "{}",
        run.stderr
    );
    // ...unless rulerun.yaml says which wins.
    write(
        &platform,
        "rulerun.yaml",
        "rules:\n  pod-image-from-unapproved-registry:\n    from: team-a-old\n",
    );
    let run = rulerun_in(&platform, &["rules", "list"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("pod-image-from-unapproved-registry"))
        .unwrap();
    assert!(
        line.contains("team-a-old (vendored)") && line.contains("medium"),
        "{line}"
    );
    assert!(
        run.stdout.contains("pod-image-latest-tag"),
        "the loser's other rules still load"
    );
    // An unknown ref or repository is a usage error.
    let run = rulerun_in(
        &platform,
        &["pack", "vendor", &url(&repo, "v9"), "--name", "x"],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("has no tag, branch or commit `v9`"),
        "{}",
        run.stderr
    );
    let run = rulerun_in(
        &platform,
        &["pack", "vendor", "git+file:///nonexistent/repo.git#v1"],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("git could not clone"), "{}", run.stderr);
    let run = rulerun_in(
        &platform,
        &[
            "pack",
            "vendor",
            &format!("git+file://{}#--upload-pack=x", repo.display()),
        ],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("invalid git ref `--upload-pack=x`"),
        "{}",
        run.stderr
    );
}

#[test]
fn verification_names_each_modified_added_and_removed_file_and_check_refuses_the_pack() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = make_repo(tmp.path());
    let platform = tmp.path().join("platform");
    fs::create_dir_all(&platform).unwrap();
    let run = rulerun_in(&platform, &["pack", "vendor", &url(&repo, "v1")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let dest = platform.join("vendor/rulepacks/team-a");
    let rule = dest.join("pod-image-from-unapproved-registry/rule.yaml");
    let tampered = fs::read_to_string(&rule)
        .unwrap()
        .replace("severity: medium", "severity: info");
    fs::write(&rule, tampered).unwrap();
    write(&dest, "extra/rule.yaml", LATEST_RULE);
    fs::remove_file(dest.join("pod-image-from-unapproved-registry/tests.yaml")).unwrap();
    write(
        &platform,
        "vendor/rulepacks/stray/pack.yaml",
        "name: stray\n",
    );

    let run = rulerun_in(&platform, &["pack", "verify"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout,
        "vendor/rulepacks/team-a/extra/rule.yaml: added\n\
         vendor/rulepacks/team-a/pod-image-from-unapproved-registry/rule.yaml: modified\n\
         vendor/rulepacks/team-a/pod-image-from-unapproved-registry/tests.yaml: removed\n\
         FAILED  team-a 1.0.0: 3 difference(s) from rulerun.lock\n\
         vendor/rulepacks/stray: added (not in rulerun.lock)\n"
    );
    let run = rulerun_in(&platform, &["check", "--facts", "snapshot.yaml"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.contains("vendor/rulepacks/team-a/pod-image-from-unapproved-registry/rule.yaml: error: vendored pack `team-a` fails verification: file modified since it was vendored"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("3 errors found; nothing was run"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());

    // A modified lock is no way around it either.
    let lock_path = platform.join("rulerun.lock");
    let lock = fs::read_to_string(&lock_path).unwrap();
    fs::write(
        &lock_path,
        lock.replacen("path: \"pack.yaml\"", "path: \"../../../etc/passwd\"", 1),
    )
    .unwrap();
    let run = rulerun_in(&platform, &["pack", "verify"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("rulerun.lock:")
            && run
                .stderr
                .contains("invalid value `../../../etc/passwd` for `path`"),
        "{}",
        run.stderr
    );
    // Nor is a second entry for the tampered file, holding its new hash after the
    // original one (the last entry would win).
    let tampered_sha = sha256_of(&rule);
    let entry = "{path: \"pod-image-from-unapproved-registry/rule.yaml\", sha256: ";
    let at = lock.find(entry).unwrap();
    let line_end = at + lock[at..].find('\n').unwrap() + 1;
    let mut doubled = lock.clone();
    doubled.insert_str(line_end, &format!("      - {entry}\"{tampered_sha}\"}}\n"));
    fs::write(&lock_path, &doubled).unwrap();
    let run = rulerun_in(&platform, &["pack", "verify"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("`pod-image-from-unapproved-registry/rule.yaml` is locked twice"),
        "{}",
        run.stderr
    );
    fs::write(&lock_path, lock).unwrap();

    // Updating would lose the local changes: refused unless forced.
    let run = rulerun_in(&platform, &["pack", "update", "team-a"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.stderr.contains("has local changes"), "{}", run.stderr);
    let run = rulerun_in(&platform, &["pack", "update", "team-a", "--force"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let run = rulerun_in(&platform, &["pack", "verify", "team-a"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn symbolic_links_and_paths_outside_the_pack_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = tmp.path().join("platform");
    fs::create_dir_all(&platform).unwrap();
    write(tmp.path(), "secret.yaml", "rules: []\n");
    let no_trace = |what: &str| {
        assert!(
            !platform.join("rulerun.lock").exists(),
            "{what}: no lock written"
        );
        let vendored = platform.join("vendor/rulepacks");
        let entries = fs::read_dir(&vendored).map(|d| d.count()).unwrap_or(0);
        assert_eq!(entries, 0, "{what}: nothing vendored");
    };

    // A symbolic link in a folder source.
    let linked = tmp.path().join("linked");
    make_pack(&linked, "linked", "1.0.0");
    std::os::unix::fs::symlink(
        tmp.path().join("secret.yaml"),
        linked.join("pod-image-from-unapproved-registry/secret.yaml"),
    )
    .unwrap();
    let run = rulerun_in(&platform, &["pack", "vendor", linked.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("holds a symbolic link: `pod-image-from-unapproved-registry/secret.yaml`"),
        "{}",
        run.stderr
    );
    no_trace("folder with a link");

    // A symbolic link committed to a git repository.
    let repo = tmp.path().join("repo-with-link");
    make_pack(&repo, "with-link", "1.0.0");
    std::os::unix::fs::symlink("../../secret.yaml", repo.join("escape.yaml")).unwrap();
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "link"]);
    let run = rulerun_in(&platform, &["pack", "vendor", &url(&repo, "main")]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.contains("holds a symbolic link: `escape.yaml`"),
        "{}",
        run.stderr
    );
    no_trace("git repository with a link");

    // Rule files listed outside the pack folder, or absolute.
    for (listed, what) in [
        ("../secret.yaml", "parent"),
        ("/etc/passwd", "absolute"),
        ("a/../../secret.yaml", "nested parent"),
    ] {
        let p = tmp
            .path()
            .join(format!("traversal-{}", what.replace(' ', "-")));
        make_pack(&p, "traversal", "1.0.0");
        write(
            &p,
            "pack.yaml",
            &format!(
                "name: traversal\nversion: 1.0.0\nrules:\n  - pod-image-from-unapproved-registry/rule.yaml\n  - {listed}\n"
            ),
        );
        let run = rulerun_in(&platform, &["pack", "vendor", p.to_str().unwrap()]);
        assert_eq!(run.code, 2, "{what}: {}", run.stdout);
        assert!(
            run.stderr
                .contains(&format!("invalid value `{listed}` for `rules`"))
                && run.stderr.contains("without `..`"),
            "{what}: {}",
            run.stderr
        );
        no_trace(what);
    }

    // A name that would put the pack elsewhere.
    let ok = tmp.path().join("ok");
    make_pack(&ok, "ok", "1.0.0");
    for name in ["../escape", "/tmp/x", "a/b", "."] {
        let run = rulerun_in(
            &platform,
            &["pack", "vendor", ok.to_str().unwrap(), "--name", name],
        );
        assert_eq!(run.code, 2, "{name}");
        assert!(
            run.stderr.contains(&format!("invalid pack name `{name}`")),
            "{}",
            run.stderr
        );
    }
    no_trace("bad names");

    // A vendor folder that is a link leading elsewhere.
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, platform.join("vendor")).unwrap();
    let run = rulerun_in(&platform, &["pack", "vendor", ok.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is a symbolic link"), "{}", run.stderr);
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
    fs::remove_file(platform.join("vendor")).unwrap();

    // A link added to a vendored copy fails verification.
    let run = rulerun_in(&platform, &["pack", "vendor", ok.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    std::os::unix::fs::symlink(
        tmp.path().join("secret.yaml"),
        platform.join("vendor/rulepacks/ok/link.yaml"),
    )
    .unwrap();
    let run = rulerun_in(&platform, &["pack", "verify"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("vendor/rulepacks/ok/link.yaml: is a symbolic link"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_pack_that_needs_a_newer_rulerun_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("future");
    make_pack(&p, "future", "2.0.0");
    let manifest = fs::read_to_string(p.join("pack.yaml"))
        .unwrap()
        .replace(">=0.1.0", ">=99.0.0");
    fs::write(p.join("pack.yaml"), manifest).unwrap();
    let run = rulerun_in(tmp.path(), &["pack", "vendor", "future"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(&format!(
            "future/pack.yaml: error: pack `future` 2.0.0 needs rulerun `>=99.0.0`; this is rulerun {}",
            env!("CARGO_PKG_VERSION")
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("help: upgrade rulerun"),
        "{}",
        run.stderr
    );
    write(tmp.path(), "rulerun.yaml", "packs:\n  - path: future\n");
    let run = rulerun_in(tmp.path(), &["rules", "list"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("needs rulerun `>=99.0.0`"),
        "{}",
        run.stderr
    );
}

#[test]
fn overrides_and_parameters_from_rulerun_yaml_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    make_pack(&root.join("team-rules"), "team-rules", "0.1.0");
    write(root, "snapshot.yaml", SNAPSHOT);
    write(
        root,
        "rulerun.yaml",
        "packs:\n  - builtin: kubernetes\n  - path: team-rules\nrules:\n  pod-image-from-unapproved-registry:\n    severity: high\n    params:\n      approvedRegistries: [registry.k8s.io, docker.io]\n  pod-image-pull-failing:\n    enabled: false\ndefaults:\n  failOn: high\n",
    );
    fs::create_dir_all(root.join("deploy/prod")).unwrap();
    // Found upward from a subfolder.
    let run = rulerun_in(
        &root.join("deploy/prod"),
        &["check", "--facts", "../../snapshot.yaml"],
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("high pod-image-from-unapproved-registry")
            && run.stdout.contains(
                "container `app` runs an image from ghcr.io, approved: registry.k8s.io, docker.io"
            ),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("container `tool`"),
        "busybox is on docker.io, approved: {}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("1 finding (1 high); 1 rules over 1 facts"),
        "{}",
        run.stdout
    );

    let run = rulerun_in(root, &["rules", "list"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "pod-image-from-unapproved-registry  high      team-rules (path)      A container runs an image from a registry the team has not approved  (team-rules/pod-image-from-unapproved-registry/rule.yaml:2:5)  [overridden: severity high (was medium), params.approvedRegistries]\n\
         pod-image-pull-failing              off       kubernetes (built-in)  A container cannot pull its image  (<builtin>/kubernetes/pod-image-pull-failing/rule.yaml:3:5)  [overridden: disabled]\n"
    );
    let run = rulerun_in(root, &["rules", "list", "-o", "json"]);
    let list: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(list[0]["params"]["approvedRegistries"][1], "docker.io");
    assert_eq!(list[0]["overrides"][0], "severity high (was medium)");
    assert_eq!(list[1]["enabled"], false);

    // The threshold from the configuration, and the flag over it.
    write(
        root,
        "rulerun.yaml",
        &fs::read_to_string(root.join("rulerun.yaml"))
            .unwrap()
            .replace("severity: high", "severity: low")
            .replace("  failOn: high\n", "  failOn: high\n  output: json\n"),
    );
    let run = rulerun_in(root, &["check", "--facts", "snapshot.yaml"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["findings"][0]["severity"], "low");
    let run = rulerun_in(
        root,
        &[
            "check",
            "--facts",
            "snapshot.yaml",
            "--fail-on",
            "low",
            "-o",
            "text",
        ],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("low pod-image-from-unapproved-registry"),
        "{}",
        run.stdout
    );
    // Every format of `-o` is a default; the flag wins.
    let config = fs::read_to_string(root.join("rulerun.yaml")).unwrap();
    write(
        root,
        "rulerun.yaml",
        &config.replace("  output: json\n", "  output: sarif\n"),
    );
    let run = rulerun_in(root, &["check", "--facts", "snapshot.yaml"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["version"], "2.1.0", "{}", run.stdout);
    for (name, starts) in [
        ("junit", "<?xml"),
        ("openreports", "{"),
        ("policyreport", "{"),
        ("text", "k8s/"),
    ] {
        write(
            root,
            "rulerun.yaml",
            &config.replace("  output: json\n", &format!("  output: {name}\n")),
        );
        let run = rulerun_in(root, &["check", "--facts", "snapshot.yaml"]);
        assert!(
            run.stdout.starts_with(starts),
            "{name}: {}{}",
            run.stdout,
            run.stderr
        );
    }
    let run = rulerun_in(root, &["check", "--facts", "snapshot.yaml", "-o", "json"]);
    assert!(serde_json::from_str::<serde_json::Value>(&run.stdout).unwrap()["findings"].is_array());
    write(
        root,
        "rulerun.yaml",
        &config.replace("  output: json\n", "  output: yaml\n"),
    );
    let run = rulerun_in(root, &["check", "--facts", "snapshot.yaml"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("`text`, `json`, `sarif`, `junit`, `openreports` or `policyreport`"),
        "{}",
        run.stderr
    );
    write(root, "rulerun.yaml", &config);
    // --no-config and --config.
    let run = rulerun_in(root, &["--no-config", "rules", "list"]);
    assert!(!run.stdout.contains("team-rules"), "{}", run.stdout);
    let run = rulerun_in(
        &root.join("deploy"),
        &["rules", "list", "--config", "../rulerun.yaml"],
    );
    assert!(
        run.stdout.contains("team-rules (path)"),
        "{}{}",
        run.stdout,
        run.stderr
    );

    // Mistakes are errors at file:line:column, all of them.
    write(
        root,
        "rulerun.yaml",
        "packs:\n  - path: team-rules\nrules:\n  pod-image-from-unaproved-registry:\n    severity: low\n  pod-image-from-unapproved-registry:\n    params:\n      approvedRegistry: [x]\n      approvedRegistries: ghcr.io\n",
    );
    let run = rulerun_in(root, &["check", "--facts", "snapshot.yaml"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "rulerun.yaml:4:3: error: no loaded rule has id `pod-image-from-unaproved-registry`\n  help: did you mean `pod-image-from-unapproved-registry`?\n\
         rulerun.yaml:8:7: error: rule `pod-image-from-unapproved-registry` has no parameter `approvedRegistry`\n  help: did you mean `approvedRegistries`?\n\
         rulerun.yaml:9:7: error: parameter `approvedRegistries` of rule `pod-image-from-unapproved-registry` takes an array, found a string\n  help: `rulerun explain RULE` shows each parameter with its default\n\
         3 errors found; nothing was run\n"
    );
    write(
        root,
        "rulerun.yaml",
        "packs:\n  - builtin: kubernets\n  - vendor: missing\nrules:\n  x:\n    severity: hgh\n",
    );
    let run = rulerun_in(root, &["check", "--facts", "snapshot.yaml"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("rulerun.yaml:2:14: error: invalid value `kubernets` for `builtin`\n  help: did you mean `kubernetes`?"), "{}", run.stderr);
    assert!(run.stderr.contains("rulerun.yaml:6:15: error: invalid value `hgh` for `severity`\n  help: did you mean `high`?"), "{}", run.stderr);
    write(root, "rulerun.yaml", "packs:\n  - vendor: missing\n");
    let run = rulerun_in(root, &["check", "--facts", "snapshot.yaml"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("rulerun.yaml:2:5: error: pack `missing` is not vendored"),
        "{}",
        run.stderr
    );
}

#[test]
fn pack_manifests_must_list_their_rule_files() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("team-rules");
    make_pack(&p, "team-rules", "0.1.0");
    write(&p, "pod-image-latest-tag/rule.yaml", LATEST_RULE);
    write(tmp.path(), "rulerun.yaml", "packs:\n  - path: team-rules\n");
    let run = rulerun_in(tmp.path(), &["rules", "list"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("team-rules/pod-image-latest-tag/rule.yaml: error: rule file `pod-image-latest-tag/rule.yaml` is not listed in pack `team-rules`\n  help: add `- pod-image-latest-tag/rule.yaml` under `rules:` in team-rules/pack.yaml"),
        "{}",
        run.stderr
    );
    let run = rulerun_in(tmp.path(), &["validate", "team-rules"]);
    assert_eq!(run.code, 2, "validate checks the manifest of a pack folder");
}

const TEAM_IDENTITY_RULE: &str = r#"rules:
  - id: pod-pulls-with-a-shared-node-role
    title: A pod pulls its images with a node role other teams share
    severity: low
    subject: {kind: k8s/v1/Pod}
    each: {as: container, path: "$.status['initContainerStatuses','containerStatuses'][*]", where: {use: kubernetes/waiting-on-image-pull}}
    uses: [eks-image-pull/node-identity]
    when: {path: $role.RoleName, exists: true}
    finding:
      message: "{{ container.name }} pulls as {{ principal }} ({{ compute }}, {{ identity_source }})"
"#;

#[test]
fn a_team_pack_starts_from_the_node_identity_of_a_pack_it_declares() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let manifest = |uses: &str| {
        format!("name: team-rules\nversion: 0.1.0\n{uses}rules:\n  - shared-role/rule.yaml\n")
    };
    write(
        root,
        "team-rules/pack.yaml",
        &manifest("uses: [eks-image-pull, kubernetes]\n"),
    );
    write(root, "team-rules/shared-role/rule.yaml", TEAM_IDENTITY_RULE);
    let snapshot = fs::read_to_string(
        crate::support::root().join("rules/eks-image-pull/fixtures/ui-private-403.json"),
    )
    .unwrap();
    write(root, "snapshot.json", &snapshot);
    // Only the kubernetes pack's rules are loaded: eks-image-pull lends its parts.
    write(
        root,
        "rulerun.yaml",
        "packs:\n  - builtin: kubernetes\n  - path: team-rules\n",
    );
    let run = rulerun_in(root, &["check", "--facts", "snapshot.json"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "ui pulls as arn:aws:sts::1234567890:assumed-role/EksNodeGroupRole/i-0abc1234def567890 (managed node group, the node role of managed node group default)"
        ),
        "{}",
        run.stdout
    );
    // vendoring the team pack loads it against the built-in parts too
    let platform = root.join("platform");
    fs::create_dir_all(&platform).unwrap();
    let run = rulerun_in(&platform, &["pack", "vendor", "../team-rules"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);

    // Without `uses:`, the part of another pack is refused, with what to write.
    write(root, "team-rules/pack.yaml", &manifest(""));
    let run = rulerun_in(root, &["check", "--facts", "snapshot.json"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("team-rules/shared-role/rule.yaml:7:12: error: pack `team-rules` uses part `eks-image-pull/node-identity` but does not declare pack `eks-image-pull`")
            && run.stderr.contains("help: add `uses: [eks-image-pull]` to the pack's `pack.yaml`"),
        "{}",
        run.stderr
    );
}
