//! The `image_ref` rule function: parses a container image reference the way
//! the container runtime does (the Docker distribution reference grammar used
//! by containerd, CRI-O and Docker) and recognises Amazon ECR and ECR Public
//! registries.
//!
//! [`parse`] does the work and returns an [`ImageRef`]; the function registry
//! serializes it for rules. [`DOCS`] is the rule-author reference: fields,
//! normalization rules and an example.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Rule-author reference for this function (Markdown), shown in
/// `docs/functions.md` under its signature and summary.
pub const DOCS: &str = r#"`image_ref(image)` takes an image reference exactly as written in a pod spec
(`spec.containers[*].image`), a Deployment or a task definition, and parses it
the way the container runtime does (the Docker distribution reference grammar
used by containerd, CRI-O and Docker). It returns an object with the registry,
repository, tag and digest split out and normalized, plus Amazon ECR details
when the image lives in ECR:

```yaml
let:
  image: {call: image_ref, args: [$container.image]}
```

and in templates `{{ image_ref(container.image).canonical }}`.

An input the runtime would reject (the kubelet reports `InvalidImageName`)
makes the function fail with a message such as
``invalid image reference `Foo:bar`: repository names must be lowercase``.

Normalization follows the runtime:

- the first path component is the registry host when it contains `.` or
  `:`, is `localhost`, or has uppercase letters; otherwise the image is on
  Docker Hub (`docker.io`);
- `index.docker.io` is written `docker.io`;
- single-component Docker Hub repositories get `library/`
  (`nginx` is `docker.io/library/nginx`);
- with neither tag nor digest the runtime pulls `latest`.

**Fields.**

| field | type | meaning |
| --- | --- | --- |
| `original` | string | the argument, unchanged |
| `registry` | string | registry as the runtime addresses it: host plus `:port` if given; `docker.io` for Docker Hub |
| `host` | string | registry host without the port |
| `port` | number or null | registry port, when one is written |
| `repository` | string | repository path without the registry, normalized (`library/nginx`) |
| `name` | string | `registry/repository` |
| `tag` | string or null | the tag as written; null when none is written |
| `digest` | string or null | the digest as written (`sha256:…`), or null |
| `reference` | string | what is pulled: the digest if any (it wins over a tag), else the tag, else `latest` |
| `canonical` | string | fully normalized reference: `name`, then `:tag` (`:latest` when neither tag nor digest is given), then `@digest` |
| `dockerHub` | bool | the image is on Docker Hub (`docker.io`, `index.docker.io`, `registry-1.docker.io`) |
| `ecr` | object or null | set for private Amazon ECR registries, see below |
| `ecrPublic` | object or null | set for Amazon ECR Public (`public.ecr.aws/<alias>/<repository>`) |

`ecr` is set when the host is `<account>.dkr.ecr.<region>.amazonaws.com`,
`….amazonaws.com.cn`, the FIPS form `<account>.dkr.ecr-fips.<region>…`, the
dual-stack form `<account>.dkr-ecr.<region>.on.aws` (China:
`….on.amazonwebservices.com.cn`) or an isolated-region form:

| field | type | meaning |
| --- | --- | --- |
| `account` | string | registry (account) ID from the host; any run of digits is accepted |
| `accountValid` | bool | `account` is exactly 12 digits, as real AWS account IDs are |
| `region` | string | region from the host, e.g. `us-west-2` |
| `partition` | string | `aws`, `aws-cn`, `aws-us-gov` (for `us-gov-*` regions), `aws-iso`, `aws-iso-b`, `aws-iso-e`, `aws-iso-f` or `aws-eusc` |
| `fips` | bool | the host is a FIPS endpoint (`ecr-fips`) |
| `dualStack` | bool | the host is a dual-stack (IPv4 and IPv6) endpoint (`dkr-ecr`) |
| `repository` | string | ECR repository name, the whole path (may contain `/`) |
| `repositoryArn` | string | `arn:<partition>:ecr:<region>:<account>:repository/<repository>` |

`ecrPublic` has `alias` (the registry alias, first path component) and
`repository` (the rest of the path, may contain `/`).

**Example.**

`image_ref("1234567890.dkr.ecr.us-west-2.amazonaws.com/retail-sample-app-ui:1.2.1")`
returns

```json
{
  "original": "1234567890.dkr.ecr.us-west-2.amazonaws.com/retail-sample-app-ui:1.2.1",
  "registry": "1234567890.dkr.ecr.us-west-2.amazonaws.com",
  "host": "1234567890.dkr.ecr.us-west-2.amazonaws.com",
  "port": null,
  "repository": "retail-sample-app-ui",
  "name": "1234567890.dkr.ecr.us-west-2.amazonaws.com/retail-sample-app-ui",
  "tag": "1.2.1",
  "digest": null,
  "reference": "1.2.1",
  "canonical": "1234567890.dkr.ecr.us-west-2.amazonaws.com/retail-sample-app-ui:1.2.1",
  "dockerHub": false,
  "ecr": {
    "account": "1234567890",
    "accountValid": false,
    "region": "us-west-2",
    "partition": "aws",
    "fips": false,
    "dualStack": false,
    "repository": "retail-sample-app-ui",
    "repositoryArn": "arn:aws:ecr:us-west-2:1234567890:repository/retail-sample-app-ui"
  },
  "ecrPublic": null
}
```

`accountValid` is false here: the account has 10 digits, so no AWS account
owns this registry and pulls from it fail.

`image_ref("nginx")` gives `registry` `docker.io`, `repository`
`library/nginx`, `tag` null, `reference` `latest`, `canonical`
`docker.io/library/nginx:latest` and `dockerHub` true.
"#;

/// Registry name of Docker Hub after normalization.
pub const DOCKER_HUB: &str = "docker.io";
/// Legacy Docker Hub name, normalized to [`DOCKER_HUB`].
const LEGACY_DOCKER_HUB: &str = "index.docker.io";
/// Docker Hub's API endpoint: Docker Hub, but not renamed by the runtime.
const DOCKER_HUB_ENDPOINT: &str = "registry-1.docker.io";
/// Namespace of Docker Hub's official images.
const OFFICIAL_REPO_PREFIX: &str = "library/";
/// Tag pulled when a reference has neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
/// Maximum length of the normalized name (`registry/repository`).
pub const NAME_MAX_LEN: usize = 255;
/// Maximum length of a tag.
pub const TAG_MAX_LEN: usize = 128;
/// Registry host of Amazon ECR Public.
const ECR_PUBLIC_HOST: &str = "public.ecr.aws";

/// A parsed, normalized container image reference. See [`DOCS`] for
/// the rule author's view of each field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageRef {
    /// The input, unchanged.
    pub original: String,
    /// Registry as the runtime addresses it: host plus `:port` when one is
    /// written. Docker Hub is `docker.io` (also for `index.docker.io` and for
    /// references without a registry).
    pub registry: String,
    /// Registry host without the port (`localhost` for `localhost:5000`).
    pub host: String,
    /// Registry port, when one is written.
    pub port: Option<u16>,
    /// Repository path without the registry, normalized: Docker Hub images
    /// without a namespace get `library/` (`nginx` is `library/nginx`).
    pub repository: String,
    /// `registry/repository`, the normalized name without tag or digest.
    pub name: String,
    /// Tag as written; `None` when no tag is written, even though the
    /// runtime then pulls `latest` (see [`ImageRef::reference`]).
    pub tag: Option<String>,
    /// Digest as written (`sha256:<64 hex>`), when one is written.
    pub digest: Option<String>,
    /// What the runtime pulls: the digest when there is one (a digest wins
    /// over a tag), else the tag, else `latest`.
    pub reference: String,
    /// Fully normalized reference: [`ImageRef::name`], then `:tag` (`:latest`
    /// when neither tag nor digest is written), then `@digest`.
    pub canonical: String,
    /// The image is on Docker Hub (`docker.io`, `index.docker.io` or
    /// `registry-1.docker.io`), where anonymous pulls are rate limited.
    pub docker_hub: bool,
    /// Private Amazon ECR details, when the registry host is an ECR host.
    pub ecr: Option<EcrImage>,
    /// Amazon ECR Public details, when the registry is `public.ecr.aws` and
    /// the path has an alias and a repository.
    pub ecr_public: Option<EcrPublicImage>,
}

/// A private Amazon ECR registry and repository, read from the registry host
/// `<account>.dkr.ecr.<region>.<suffix>` (or its FIPS and dual-stack forms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EcrImage {
    /// Registry ID (the AWS account) from the host. Any run of digits is
    /// accepted so that a mistyped account still parses and can be reported.
    pub account: String,
    /// `account` is exactly 12 digits, as every AWS account ID is.
    pub account_valid: bool,
    /// Region from the host, e.g. `us-west-2`.
    pub region: String,
    /// AWS partition: `aws`, `aws-cn`, `aws-us-gov` (regions `us-gov-*`),
    /// `aws-iso`, `aws-iso-b`, `aws-iso-e`, `aws-iso-f` or `aws-eusc`, from the
    /// host's DNS suffix and the region.
    pub partition: String,
    /// The host is a FIPS endpoint (`dkr.ecr-fips` or `dkr-ecr-fips`).
    pub fips: bool,
    /// The host is a dual-stack endpoint (`dkr-ecr.<region>.on.aws`).
    pub dual_stack: bool,
    /// ECR repository name: the whole path, which may contain `/`.
    pub repository: String,
    /// ARN of the repository, as used in IAM policies:
    /// `arn:<partition>:ecr:<region>:<account>:repository/<repository>`.
    pub repository_arn: String,
}

/// An Amazon ECR Public image: `public.ecr.aws/<alias>/<repository>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EcrPublicImage {
    /// Registry alias, the first path component (`eks-distro`).
    pub alias: String,
    /// Repository within the alias: the rest of the path, may contain `/`.
    pub repository: String,
}

/// Why an image reference was rejected. Displays as
/// ``invalid image reference `<input>`: <reason>``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference `{input}`: {kind}")]
pub struct ImageRefError {
    /// The rejected input.
    pub input: String,
    /// What is wrong with it.
    pub kind: ImageRefErrorKind,
}

/// The reason an image reference was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImageRefErrorKind {
    /// The input is empty.
    #[error("reference is empty")]
    Empty,
    /// The input contains whitespace (often a trailing newline or space).
    #[error("reference contains whitespace")]
    Whitespace,
    /// The input starts with a URL scheme such as `https://`.
    #[error("reference must not start with a URL scheme (`{scheme}://`)")]
    Scheme {
        /// The scheme, without `://`.
        scheme: String,
    },
    /// The input is a bare 64-character hex string: an image ID.
    #[error("a 64-character hexadecimal string is an image ID, not a reference")]
    ImageId,
    /// The registry host is not a valid host name or `[IPv6]` address.
    #[error("invalid registry host `{host}`")]
    InvalidHost {
        /// The host as written.
        host: String,
    },
    /// The registry port is not a number from 0 to 65535.
    #[error("invalid registry port `{port}`")]
    InvalidPort {
        /// The port as written.
        port: String,
    },
    /// There is no repository path.
    #[error("repository name is missing")]
    MissingRepository,
    /// The repository path has uppercase letters.
    #[error("repository names must be lowercase")]
    Uppercase {
        /// The repository path as written.
        repository: String,
    },
    /// The repository path has an empty component (`a//b`, `a/`).
    #[error("repository path has an empty component")]
    EmptyPathComponent,
    /// A repository path component breaks the grammar.
    #[error("invalid repository path component `{component}`")]
    InvalidPathComponent {
        /// The offending component.
        component: String,
    },
    /// `:` is followed by nothing.
    #[error("tag is empty")]
    EmptyTag,
    /// The tag breaks the grammar `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    #[error("invalid tag `{tag}`")]
    InvalidTag {
        /// The tag as written.
        tag: String,
    },
    /// The digest is not `algorithm:hex` with the right length and case.
    #[error("invalid digest `{digest}`: {reason}")]
    InvalidDigest {
        /// The digest as written.
        digest: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The digest algorithm is well formed but not one the runtime knows.
    #[error("unsupported digest algorithm `{algorithm}`")]
    UnsupportedDigestAlgorithm {
        /// The algorithm as written.
        algorithm: String,
    },
    /// `registry/repository` is longer than 255 characters.
    #[error("name `{name}` is {len} characters long, more than the maximum of 255")]
    NameTooLong {
        /// The normalized name.
        name: String,
        /// Its length in bytes.
        len: usize,
    },
}

impl ImageRefError {
    fn new(input: &str, kind: ImageRefErrorKind) -> Self {
        Self {
            input: input.to_owned(),
            kind,
        }
    }

    /// Advice on how to fix the reference, when there is any to give.
    #[must_use]
    pub fn help(&self) -> Option<String> {
        use ImageRefErrorKind as K;
        let text = match &self.kind {
            K::Empty => "give an image such as `nginx:1.27` or \
                 `123456789012.dkr.ecr.us-west-2.amazonaws.com/app:1.0`"
                .to_owned(),
            K::Whitespace => format!(
                "remove the spaces or line breaks: use `{}`",
                self.input.split_whitespace().collect::<String>()
            ),
            K::Scheme { .. } => {
                let rest = self
                    .input
                    .split_once("://")
                    .map_or(self.input.as_str(), |(_, rest)| rest);
                format!("image references have no scheme: use `{rest}`")
            }
            K::ImageId => "pull by digest instead, with the repository: \
                 `<repository>@sha256:<id>`"
                .to_owned(),
            K::InvalidHost { .. } => "the first path component is read as a registry host when it \
                 contains `.` or `:`, is `localhost`, or has uppercase letters; \
                 host names are letters, digits, `-` and `.`"
                .to_owned(),
            K::InvalidPort { .. } => {
                "registry ports are numbers from 0 to 65535, as in `localhost:5000/app`".to_owned()
            }
            K::MissingRepository => {
                "add a repository after the registry, as in `registry.example.com/team/app:1.0`"
                    .to_owned()
            }
            K::Uppercase { repository } => format!(
                "use `{}`: only the registry host and the tag may contain uppercase letters",
                repository.to_lowercase()
            ),
            K::EmptyPathComponent => "remove the doubled, leading or trailing `/`".to_owned(),
            K::InvalidPathComponent { .. } => "repository path components are lowercase letters \
                 and digits, separated by one `.`, one `_`, `__` or any number of `-`, \
                 and start and end with a letter or digit"
                .to_owned(),
            K::EmptyTag => "remove the trailing `:` or add a tag, as in `app:1.0`".to_owned(),
            K::InvalidTag { .. } => "tags are 1 to 128 letters, digits, `_`, `.` and `-`, \
                 and do not start with `.` or `-`"
                .to_owned(),
            K::InvalidDigest { .. } => {
                "a digest is `sha256:` followed by 64 lowercase hexadecimal digits".to_owned()
            }
            K::UnsupportedDigestAlgorithm { .. } => {
                "container runtimes accept `sha256`, `sha384` and `sha512` digests".to_owned()
            }
            K::NameTooLong { .. } => {
                "registry plus repository may be at most 255 characters".to_owned()
            }
        };
        Some(text)
    }
}

/// Parses `s` as a container image reference, as the container runtime does.
///
/// # Errors
///
/// Returns an [`ImageRefError`] when the runtime would reject `s`.
pub fn parse(s: &str) -> Result<ImageRef, ImageRefError> {
    let error = |kind| ImageRefError::new(s, kind);
    check_whole(s).map_err(error)?;
    let (name_and_tag, digest) = match s.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (s, None),
    };
    let (domain, remainder) = split_domain(name_and_tag);
    let (path, tag) = match remainder.split_once(':') {
        Some((path, tag)) => (path, Some(tag)),
        None => (remainder, None),
    };

    let (host, port) = match domain {
        Some(domain) => parse_domain(domain).map_err(error)?,
        None => (DOCKER_HUB, None),
    };
    validate_path(path).map_err(error)?;
    if let Some(tag) = tag {
        validate_tag(tag).map_err(error)?;
    }
    if let Some(digest) = digest {
        validate_digest(digest).map_err(error)?;
    }

    let (host, registry) = match domain {
        Some(LEGACY_DOCKER_HUB) | None => (DOCKER_HUB.to_owned(), DOCKER_HUB.to_owned()),
        Some(domain) => (host.to_owned(), domain.to_owned()),
    };
    let docker_hub = registry == DOCKER_HUB || registry.eq_ignore_ascii_case(DOCKER_HUB_ENDPOINT);
    let repository = if registry == DOCKER_HUB && !path.contains('/') {
        format!("{OFFICIAL_REPO_PREFIX}{path}")
    } else {
        path.to_owned()
    };
    let name = format!("{registry}/{repository}");
    if name.len() > NAME_MAX_LEN {
        return Err(error(ImageRefErrorKind::NameTooLong {
            len: name.len(),
            name,
        }));
    }

    let reference = digest.or(tag).unwrap_or(DEFAULT_TAG).to_owned();
    let mut canonical = name.clone();
    // `:latest` only when there is neither tag nor digest, as the runtime does.
    if let Some(tag) = tag.or(digest.is_none().then_some(DEFAULT_TAG)) {
        canonical.push(':');
        canonical.push_str(tag);
    }
    if let Some(digest) = digest {
        canonical.push('@');
        canonical.push_str(digest);
    }

    let ecr = detect_ecr(&host, &repository);
    let ecr_public = detect_ecr_public(&host, port, &repository);
    Ok(ImageRef {
        original: s.to_owned(),
        registry,
        host,
        port,
        repository,
        name,
        tag: tag.map(str::to_owned),
        digest: digest.map(str::to_owned),
        reference,
        canonical,
        docker_hub,
        ecr,
        ecr_public,
    })
}

impl FromStr for ImageRef {
    type Err = ImageRefError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

impl fmt::Display for ImageRef {
    /// Writes [`ImageRef::canonical`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

/// Rejects inputs that are wrong as a whole, before any splitting.
fn check_whole(s: &str) -> Result<(), ImageRefErrorKind> {
    if s.is_empty() {
        return Err(ImageRefErrorKind::Empty);
    }
    if s.chars().any(char::is_whitespace) {
        return Err(ImageRefErrorKind::Whitespace);
    }
    if let Some((scheme, _)) = s.split_once("://")
        && !scheme.is_empty()
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(ImageRefErrorKind::Scheme {
            scheme: scheme.to_owned(),
        });
    }
    if s.len() == 64 && s.bytes().all(is_lower_hex) {
        return Err(ImageRefErrorKind::ImageId);
    }
    Ok(())
}

/// Checks the repository path as written (before `library/` is added).
fn validate_path(path: &str) -> Result<(), ImageRefErrorKind> {
    if path.is_empty() {
        return Err(ImageRefErrorKind::MissingRepository);
    }
    if path.chars().any(char::is_uppercase) {
        return Err(ImageRefErrorKind::Uppercase {
            repository: path.to_owned(),
        });
    }
    for component in path.split('/') {
        if component.is_empty() {
            return Err(ImageRefErrorKind::EmptyPathComponent);
        }
        if !is_path_component(component) {
            return Err(ImageRefErrorKind::InvalidPathComponent {
                component: component.to_owned(),
            });
        }
    }
    Ok(())
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
fn validate_tag(tag: &str) -> Result<(), ImageRefErrorKind> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let b = tag.as_bytes();
    match b.first() {
        None => Err(ImageRefErrorKind::EmptyTag),
        Some(&first)
            if b.len() <= TAG_MAX_LEN
                && word(first)
                && b.iter().all(|&x| word(x) || x == b'.' || x == b'-') =>
        {
            Ok(())
        }
        Some(_) => Err(ImageRefErrorKind::InvalidTag {
            tag: tag.to_owned(),
        }),
    }
}

/// Splits off the registry the way the runtime does: the part before the
/// first `/` is a registry when it contains `.` or `:`, is `localhost`, or has
/// uppercase letters. `None` means Docker Hub.
fn split_domain(s: &str) -> (Option<&str>, &str) {
    match s.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(char::is_uppercase) =>
        {
            (Some(first), rest)
        }
        _ => (None, s),
    }
}

/// Splits `host[:port]` (host may be `[IPv6]`) and validates both.
fn parse_domain(domain: &str) -> Result<(&str, Option<u16>), ImageRefErrorKind> {
    let invalid_host = |host: &str| ImageRefErrorKind::InvalidHost {
        host: host.to_owned(),
    };
    let (host, port) = if domain.starts_with('[') {
        let Some(end) = domain.find(']') else {
            return Err(invalid_host(domain));
        };
        let (host, after) = domain.split_at(end + 1);
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port),
            None if after.is_empty() => None,
            None => return Err(invalid_host(domain)),
        };
        let inner = &host[1..host.len() - 1];
        if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return Err(invalid_host(host));
        }
        (host, port)
    } else {
        let (host, port) = match domain.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (domain, None),
        };
        if !is_domain_name(host) {
            return Err(invalid_host(host));
        }
        (host, port)
    };
    let port = match port {
        None => None,
        Some(port) => {
            if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ImageRefErrorKind::InvalidPort {
                    port: port.to_owned(),
                });
            }
            Some(
                port.parse::<u16>()
                    .map_err(|_| ImageRefErrorKind::InvalidPort {
                        port: port.to_owned(),
                    })?,
            )
        }
    };
    Ok((host, port))
}

/// `component ('.' component)*` with `component` =
/// `[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?`.
fn is_domain_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|c| {
            let b = c.as_bytes();
            match (b.first(), b.last()) {
                (Some(first), Some(last)) => {
                    first.is_ascii_alphanumeric()
                        && last.is_ascii_alphanumeric()
                        && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
                }
                _ => false,
            }
        })
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && is_lower_alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if b.get(i) == Some(&b'_') {
                    i += 1;
                }
            }
            b'-' => {
                while b.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// Checks `algorithm:hex` against the reference grammar, then the length and
/// lowercase hex that the runtime's digest package requires.
fn validate_digest(digest: &str) -> Result<(), ImageRefErrorKind> {
    let invalid = |reason: &str| ImageRefErrorKind::InvalidDigest {
        digest: digest.to_owned(),
        reason: reason.to_owned(),
    };
    if digest.is_empty() {
        return Err(invalid("digest is empty"));
    }
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(invalid("expected `algorithm:hex`"));
    };
    // algorithm: [A-Za-z][A-Za-z0-9]*([+._-][A-Za-z][A-Za-z0-9]*)*
    let algorithm_ok = !algorithm.is_empty()
        && algorithm.split(['+', '.', '_', '-']).all(|c| {
            let b = c.as_bytes();
            b.first().is_some_and(u8::is_ascii_alphabetic)
                && b.iter().all(u8::is_ascii_alphanumeric)
        });
    if !algorithm_ok {
        return Err(invalid(
            "the algorithm must be letters and digits, as in `sha256`",
        ));
    }
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid("the value must be hexadecimal"));
    }
    if hex.len() < 32 {
        return Err(invalid("the value must be at least 32 hexadecimal digits"));
    }
    let expected = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => {
            return Err(ImageRefErrorKind::UnsupportedDigestAlgorithm {
                algorithm: algorithm.to_owned(),
            });
        }
    };
    if hex.len() != expected {
        return Err(ImageRefErrorKind::InvalidDigest {
            digest: digest.to_owned(),
            reason: format!(
                "a {algorithm} digest has {expected} hexadecimal digits, not {}",
                hex.len()
            ),
        });
    }
    if !hex.bytes().all(is_lower_hex) {
        return Err(invalid("the hexadecimal digits must be lowercase"));
    }
    Ok(())
}

/// DNS suffixes of ECR registry hosts and the partition each implies.
/// `amazonaws.com` and `on.aws` serve both `aws` and `aws-us-gov`; the region
/// decides.
const ECR_SUFFIXES: &[(&str, &str)] = &[
    ("amazonaws.com", "aws"),
    ("on.aws", "aws"),
    ("amazonaws.com.cn", "aws-cn"),
    ("on.amazonwebservices.com.cn", "aws-cn"),
    ("c2s.ic.gov", "aws-iso"),
    ("sc2s.sgov.gov", "aws-iso-b"),
    ("cloud.adc-e.uk", "aws-iso-e"),
    ("csp.hci.ic.gov", "aws-iso-f"),
    ("amazonaws.eu", "aws-eusc"),
];

/// ECR endpoint labels after the account: (labels, fips, dual-stack).
const ECR_ENDPOINTS: &[(&str, bool, bool)] = &[
    ("dkr.ecr.", false, false),
    ("dkr.ecr-fips.", true, false),
    ("dkr-ecr.", false, true),
    ("dkr-ecr-fips.", true, true),
];

/// Recognises `<account>.dkr.ecr[-fips].<region>.<suffix>` and the dual-stack
/// `<account>.dkr-ecr[-fips].<region>.<suffix>` (host case is ignored).
fn detect_ecr(host: &str, repository: &str) -> Option<EcrImage> {
    let host = host.to_ascii_lowercase();
    let (account, rest) = host.split_once('.')?;
    if account.is_empty() || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (rest, fips, dual_stack) = ECR_ENDPOINTS.iter().find_map(|&(prefix, fips, dual)| {
        rest.strip_prefix(prefix).map(|rest| (rest, fips, dual))
    })?;
    let (region, suffix) = rest.split_once('.')?;
    if region.is_empty() || !region.bytes().all(|b| is_lower_alnum(b) || b == b'-') {
        return None;
    }
    let partition = ECR_SUFFIXES
        .iter()
        .find(|(s, _)| *s == suffix)
        .map(|&(_, partition)| partition)?;
    let partition = if partition == "aws" && region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        partition
    };
    Some(EcrImage {
        account: account.to_owned(),
        account_valid: account.len() == 12,
        region: region.to_owned(),
        partition: partition.to_owned(),
        fips,
        dual_stack,
        repository: repository.to_owned(),
        repository_arn: format!("arn:{partition}:ecr:{region}:{account}:repository/{repository}"),
    })
}

/// Recognises `public.ecr.aws/<alias>/<repository>` (no port).
fn detect_ecr_public(host: &str, port: Option<u16>, repository: &str) -> Option<EcrPublicImage> {
    if port.is_some() || !host.eq_ignore_ascii_case(ECR_PUBLIC_HOST) {
        return None;
    }
    let (alias, repository) = repository.split_once('/')?;
    Some(EcrPublicImage {
        alias: alias.to_owned(),
        repository: repository.to_owned(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SHA: &str = "sha256:4f8b4e7d7a6a1f0c9c2b3a5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0";

    fn ok(s: &str) -> ImageRef {
        match parse(s) {
            Ok(r) => r,
            Err(e) => unreachable!("`{s}` should parse: {e}"),
        }
    }

    fn err(s: &str) -> ImageRefError {
        match parse(s) {
            Ok(r) => unreachable!("`{s}` should fail, got {r:?}"),
            Err(e) => e,
        }
    }

    /// (registry, repository, tag, digest, reference, canonical)
    fn parts(r: &ImageRef) -> (&str, &str, Option<&str>, Option<&str>, &str, &str) {
        (
            &r.registry,
            &r.repository,
            r.tag.as_deref(),
            r.digest.as_deref(),
            &r.reference,
            &r.canonical,
        )
    }

    // ----- Docker Hub -----

    #[test]
    fn bare_official_image() {
        let r = ok("nginx");
        assert_eq!(r.original, "nginx");
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.host, "docker.io");
        assert_eq!(r.port, None);
        assert_eq!(r.repository, "library/nginx");
        assert_eq!(r.name, "docker.io/library/nginx");
        assert_eq!(r.tag, None);
        assert_eq!(r.digest, None);
        assert_eq!(r.reference, "latest");
        assert_eq!(r.canonical, "docker.io/library/nginx:latest");
        assert!(r.docker_hub);
        assert_eq!(r.ecr, None);
        assert_eq!(r.ecr_public, None);
    }

    #[test]
    fn official_image_with_tag() {
        let r = ok("nginx:1.27-alpine");
        assert_eq!(
            parts(&r),
            (
                "docker.io",
                "library/nginx",
                Some("1.27-alpine"),
                None,
                "1.27-alpine",
                "docker.io/library/nginx:1.27-alpine"
            )
        );
    }

    #[test]
    fn user_repository() {
        let r = ok("user/app");
        assert_eq!(r.repository, "user/app");
        assert_eq!(r.canonical, "docker.io/user/app:latest");
        assert!(r.docker_hub);
        let r = ok("user/app:v1");
        assert_eq!(r.canonical, "docker.io/user/app:v1");
        let r = ok("org/team/app:v1");
        assert_eq!(r.repository, "org/team/app");
        assert_eq!(r.registry, "docker.io");
    }

    #[test]
    fn explicit_docker_io() {
        assert_eq!(
            ok("docker.io/nginx").canonical,
            "docker.io/library/nginx:latest"
        );
        assert_eq!(
            ok("docker.io/library/nginx:1").canonical,
            "docker.io/library/nginx:1"
        );
        assert_eq!(
            ok("docker.io/user/app").canonical,
            "docker.io/user/app:latest"
        );
    }

    #[test]
    fn index_docker_io_normalizes() {
        let r = ok("index.docker.io/nginx:1.25");
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.host, "docker.io");
        assert_eq!(r.repository, "library/nginx");
        assert_eq!(r.canonical, "docker.io/library/nginx:1.25");
        assert!(r.docker_hub);
        assert_eq!(ok("index.docker.io/user/app").name, "docker.io/user/app");
    }

    #[test]
    fn registry_1_docker_io_is_docker_hub_but_not_renamed() {
        let r = ok("registry-1.docker.io/library/nginx");
        assert!(r.docker_hub);
        assert_eq!(r.registry, "registry-1.docker.io");
        assert_eq!(r.canonical, "registry-1.docker.io/library/nginx:latest");
    }

    #[test]
    fn first_component_without_dot_is_a_namespace() {
        let r = ok("registry/app");
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.repository, "registry/app");
    }

    #[test]
    fn host_and_port_without_path_is_docker_hub_with_tag() {
        // The runtime reads `localhost:5000` as image `localhost`, tag `5000`.
        let r = ok("localhost:5000");
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.repository, "library/localhost");
        assert_eq!(r.tag.as_deref(), Some("5000"));
    }

    // ----- other registries, hosts, ports -----

    #[test]
    fn localhost() {
        let r = ok("localhost/x");
        assert_eq!(r.registry, "localhost");
        assert_eq!(r.repository, "x");
        assert_eq!(r.canonical, "localhost/x:latest");
        assert!(!r.docker_hub);
    }

    #[test]
    fn localhost_with_port() {
        let r = ok("localhost:5000/x");
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.host, "localhost");
        assert_eq!(r.port, Some(5000));
        assert_eq!(r.repository, "x");
        assert_eq!(r.name, "localhost:5000/x");
        assert_eq!(r.canonical, "localhost:5000/x:latest");
        let r = ok("localhost:5000/team/x:dev");
        assert_eq!(r.canonical, "localhost:5000/team/x:dev");
        assert_eq!(r.tag.as_deref(), Some("dev"));
    }

    #[test]
    fn host_with_port_and_nested_path() {
        let r = ok("registry.example.com:8443/team/sub/app:1.0");
        assert_eq!(r.registry, "registry.example.com:8443");
        assert_eq!(r.host, "registry.example.com");
        assert_eq!(r.port, Some(8443));
        assert_eq!(r.repository, "team/sub/app");
        assert_eq!(r.tag.as_deref(), Some("1.0"));
    }

    #[test]
    fn single_label_host_with_port() {
        let r = ok("registry:5000/app");
        assert_eq!(r.registry, "registry:5000");
        assert_eq!(r.port, Some(5000));
        assert_eq!(r.repository, "app");
    }

    #[test]
    fn ipv4_host() {
        let r = ok("192.168.1.10:5000/app:v2");
        assert_eq!(r.host, "192.168.1.10");
        assert_eq!(r.port, Some(5000));
    }

    #[test]
    fn ipv6_host() {
        let r = ok("[::1]:5000/app");
        assert_eq!(r.registry, "[::1]:5000");
        assert_eq!(r.host, "[::1]");
        assert_eq!(r.port, Some(5000));
        let r = ok("[fe80::1]/app");
        assert_eq!(r.host, "[fe80::1]");
        assert_eq!(r.port, None);
    }

    #[test]
    fn uppercase_first_component_is_a_registry() {
        // As in the runtime: an uppercase first component names a registry.
        let r = ok("Registry/app");
        assert_eq!(r.registry, "Registry");
        assert_eq!(r.repository, "app");
        assert!(!r.docker_hub);
    }

    #[test]
    fn uppercase_tag_is_allowed() {
        assert_eq!(ok("nginx:V1_Final").tag.as_deref(), Some("V1_Final"));
        assert_eq!(ok("nginx:_x").tag.as_deref(), Some("_x"));
    }

    #[test]
    fn path_component_separators() {
        for good in [
            "a.b/c", "a_b", "a__b", "a-b", "a---b", "a1/b2/c3", "0", "a.b.c", "x-y_z.w",
        ] {
            ok(good);
        }
        for bad in [
            "a..b", "a___b", "-a", "a-", "a.", "_a", "a_.b", "a.-b", "a+b", "[zz]/app",
        ] {
            assert!(
                matches!(
                    err(bad).kind,
                    ImageRefErrorKind::InvalidPathComponent { .. }
                ),
                "{bad}"
            );
        }
    }

    // ----- digests -----

    #[test]
    fn digest_only() {
        let s = format!("nginx@{SHA}");
        let r = ok(&s);
        assert_eq!(r.tag, None);
        assert_eq!(r.digest.as_deref(), Some(SHA));
        assert_eq!(r.reference, SHA);
        assert_eq!(r.canonical, format!("docker.io/library/nginx@{SHA}"));
    }

    #[test]
    fn tag_and_digest() {
        let s = format!("registry.example.com/app:1.0@{SHA}");
        let r = ok(&s);
        assert_eq!(r.tag.as_deref(), Some("1.0"));
        assert_eq!(r.digest.as_deref(), Some(SHA));
        assert_eq!(r.reference, SHA, "the digest wins over the tag");
        assert_eq!(r.canonical, s);
    }

    #[test]
    fn digest_with_port() {
        let r = ok(&format!("localhost:5000/app@{SHA}"));
        assert_eq!(r.port, Some(5000));
        assert_eq!(r.repository, "app");
        assert_eq!(r.reference, SHA);
    }

    #[test]
    fn sha384_and_sha512() {
        ok(&format!("app@sha384:{}", "a".repeat(96)));
        ok(&format!("app@sha512:{}", "0".repeat(128)));
    }

    #[test]
    fn bad_digests() {
        let short = format!("nginx@sha256:{}", "a".repeat(63));
        let upper = format!("nginx@sha256:{}", "A".repeat(64));
        let long = format!("nginx@sha256:{}", "a".repeat(65));
        for bad in [
            "nginx@",
            "nginx@sha256",
            "nginx@sha256:",
            "nginx@sha256:xyz",
            "nginx@:abcd",
            "nginx@1sha:0123456789abcdef0123456789abcdef",
            short.as_str(),
            upper.as_str(),
            long.as_str(),
            "nginx@sha256:abc@def",
        ] {
            assert!(
                matches!(err(bad).kind, ImageRefErrorKind::InvalidDigest { .. }),
                "{bad}: {:?}",
                parse(bad)
            );
        }
        let e = err(&short);
        assert!(
            e.to_string().contains("64 hexadecimal digits, not 63"),
            "{e}"
        );
    }

    #[test]
    fn unsupported_digest_algorithm() {
        let e = err("nginx@md5:0123456789abcdef0123456789abcdef");
        assert_eq!(
            e.kind,
            ImageRefErrorKind::UnsupportedDigestAlgorithm {
                algorithm: "md5".into()
            }
        );
        let e = err("nginx@sha256+b64u:0123456789abcdef0123456789abcdef");
        assert!(matches!(
            e.kind,
            ImageRefErrorKind::UnsupportedDigestAlgorithm { .. }
        ));
    }

    // ----- errors -----

    #[test]
    fn uppercase_repository_rejected() {
        let e = err("Foo:bar");
        assert_eq!(
            e.to_string(),
            "invalid image reference `Foo:bar`: repository names must be lowercase"
        );
        assert!(e.help().unwrap().contains("`foo`"));
        for bad in [
            "nginx/Foo",
            "docker.io/Library/nginx",
            "localhost:5000/App",
            "123456789012.dkr.ecr.us-west-2.amazonaws.com/MyApp:1",
        ] {
            assert!(
                matches!(err(bad).kind, ImageRefErrorKind::Uppercase { .. }),
                "{bad}"
            );
        }
    }

    #[test]
    fn empty_and_whitespace() {
        assert_eq!(err("").kind, ImageRefErrorKind::Empty);
        assert_eq!(
            err("").to_string(),
            "invalid image reference ``: reference is empty"
        );
        for bad in [" nginx", "nginx ", "nginx\n", "ngi nx", "nginx:1\t"] {
            assert_eq!(err(bad).kind, ImageRefErrorKind::Whitespace, "{bad:?}");
        }
        assert_eq!(
            err("nginx:1.0\n").help().unwrap(),
            "remove the spaces or line breaks: use `nginx:1.0`"
        );
    }

    #[test]
    fn scheme_rejected() {
        let e = err("https://registry.example.com/app:1");
        assert_eq!(
            e.kind,
            ImageRefErrorKind::Scheme {
                scheme: "https".into()
            }
        );
        assert!(e.help().unwrap().contains("`registry.example.com/app:1`"));
    }

    #[test]
    fn image_id_rejected() {
        let id = "a".repeat(64);
        assert_eq!(err(&id).kind, ImageRefErrorKind::ImageId);
        // with a tag it is a (strange but valid) repository name
        ok(&format!("{id}:1"));
    }

    #[test]
    fn bad_hosts_and_ports() {
        for bad in [
            "-bad.com/app",
            "bad-.com/app",
            "host..com/app",
            ".host.com/app",
            "host_name.com/app",
            "[zz]:5000/app",
            "[::1/app",
            "[]:5000/app",
            "[::1]x/app",
            "Ünïcode.com/app",
        ] {
            assert!(
                matches!(err(bad).kind, ImageRefErrorKind::InvalidHost { .. }),
                "{bad}: {:?}",
                parse(bad)
            );
        }
        for bad in [
            "localhost:abc/app",
            "localhost:/app",
            "localhost:99999/app",
            "localhost:-1/app",
            "host.com:5000:1/app",
            "[::1]:/app",
        ] {
            assert!(
                matches!(err(bad).kind, ImageRefErrorKind::InvalidPort { .. }),
                "{bad}: {:?}",
                parse(bad)
            );
        }
        assert_eq!(ok("localhost:65535/app").port, Some(65535));
    }

    #[test]
    fn missing_repository_and_empty_components() {
        for bad in ["localhost:5000/", "docker.io/", "registry.example.com/:tag"] {
            assert_eq!(err(bad).kind, ImageRefErrorKind::MissingRepository, "{bad}");
        }
        for bad in [
            "a//b",
            "a/",
            "/a",
            "registry.example.com/a//b",
            "registry.example.com//a",
        ] {
            assert_eq!(
                err(bad).kind,
                ImageRefErrorKind::EmptyPathComponent,
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_tags() {
        assert_eq!(err("nginx:").kind, ImageRefErrorKind::EmptyTag);
        assert_eq!(
            err(&format!("nginx:@{SHA}")).kind,
            ImageRefErrorKind::EmptyTag
        );
        for bad in [
            "nginx:-x",
            "nginx:.x",
            "nginx:a:b",
            "nginx:a+b",
            "nginx:a/b",
        ] {
            let kind = err(bad).kind;
            assert!(
                matches!(
                    kind,
                    ImageRefErrorKind::InvalidTag { .. } | ImageRefErrorKind::InvalidPort { .. }
                ),
                "{bad}: {kind:?}"
            );
        }
        assert_eq!(
            err("nginx:a:b").kind,
            ImageRefErrorKind::InvalidTag { tag: "a:b".into() }
        );
        let max = "t".repeat(128);
        assert_eq!(
            ok(&format!("nginx:{max}")).tag.as_deref(),
            Some(max.as_str())
        );
        assert!(matches!(
            err(&format!("nginx:{max}x")).kind,
            ImageRefErrorKind::InvalidTag { .. }
        ));
    }

    #[test]
    fn name_length_limit() {
        // `docker.io/` (10) + 245 = 255
        let path = format!("a/{}", "b".repeat(243));
        assert_eq!(ok(&path).name.len(), 255);
        let path = format!("a/{}", "b".repeat(244));
        let e = err(&path);
        assert!(matches!(
            e.kind,
            ImageRefErrorKind::NameTooLong { len: 256, .. }
        ));
        // the limit applies to the normalized name, `library/` included
        let official = "c".repeat(237);
        assert_eq!(ok(&official).name.len(), 255);
        assert!(matches!(
            err(&format!("{official}c")).kind,
            ImageRefErrorKind::NameTooLong { .. }
        ));
    }

    #[test]
    fn every_error_has_help_and_backticked_input() {
        let inputs = [
            String::new(),
            " x".to_owned(),
            "https://x/y".to_owned(),
            "a".repeat(64),
            "-x.com/a".to_owned(),
            "x.com:9x/a".to_owned(),
            "x.com/".to_owned(),
            "A:b".to_owned(),
            "a//b".to_owned(),
            "a..b".to_owned(),
            "a:".to_owned(),
            "a:-".to_owned(),
            "a@sha256:1".to_owned(),
            "a@md5:0123456789abcdef0123456789abcdef".to_owned(),
            "z".repeat(300),
        ];
        for input in inputs {
            let e = err(&input);
            let msg = e.to_string();
            assert!(
                msg.starts_with(&format!("invalid image reference `{input}`: ")),
                "{msg}"
            );
            let first = msg.trim_start_matches(&format!("invalid image reference `{input}`: "));
            assert!(
                first.chars().next().is_some_and(|c| !c.is_uppercase()),
                "{msg}"
            );
            assert!(e.help().is_some_and(|h| !h.is_empty()), "{msg}");
        }
    }

    // ----- Amazon ECR -----

    #[test]
    fn scenario_image_ten_digit_account() {
        let s = "1234567890.dkr.ecr.us-west-2.amazonaws.com/retail-sample-app-ui:1.2.1";
        let r = ok(s);
        assert_eq!(r.registry, "1234567890.dkr.ecr.us-west-2.amazonaws.com");
        assert_eq!(r.repository, "retail-sample-app-ui");
        assert_eq!(r.tag.as_deref(), Some("1.2.1"));
        assert_eq!(r.reference, "1.2.1");
        assert_eq!(r.canonical, s);
        assert!(!r.docker_hub);
        let ecr = r.ecr.unwrap();
        assert_eq!(
            ecr,
            EcrImage {
                account: "1234567890".into(),
                account_valid: false,
                region: "us-west-2".into(),
                partition: "aws".into(),
                fips: false,
                dual_stack: false,
                repository: "retail-sample-app-ui".into(),
                repository_arn: "arn:aws:ecr:us-west-2:1234567890:repository/retail-sample-app-ui"
                    .into(),
            }
        );
    }

    #[test]
    fn ecr_commercial() {
        let r = ok("123456789012.dkr.ecr.eu-central-1.amazonaws.com/app:v3");
        let ecr = r.ecr.unwrap();
        assert_eq!(ecr.account, "123456789012");
        assert!(ecr.account_valid);
        assert_eq!(ecr.region, "eu-central-1");
        assert_eq!(ecr.partition, "aws");
        assert!(!ecr.fips);
        assert!(!ecr.dual_stack);
        assert_eq!(ecr.repository, "app");
    }

    #[test]
    fn ecr_nested_repository_and_digest() {
        let r = ok(&format!(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/sub/app@{SHA}"
        ));
        let ecr = r.ecr.unwrap();
        assert_eq!(ecr.repository, "team/sub/app");
        assert_eq!(
            ecr.repository_arn,
            "arn:aws:ecr:us-east-1:123456789012:repository/team/sub/app"
        );
        assert_eq!(r.reference, SHA);
        assert_eq!(r.tag, None);
    }

    #[test]
    fn ecr_pull_through_cache_path() {
        let r = ok(
            "123456789012.dkr.ecr.us-west-2.amazonaws.com/ecr-public/eks/aws-load-balancer-controller:v2.7.1",
        );
        assert_eq!(
            r.ecr.unwrap().repository,
            "ecr-public/eks/aws-load-balancer-controller"
        );
        assert_eq!(r.ecr_public, None);
    }

    #[test]
    fn ecr_china() {
        let ecr = ok("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app:1")
            .ecr
            .unwrap();
        assert_eq!(ecr.partition, "aws-cn");
        assert_eq!(ecr.region, "cn-north-1");
        assert_eq!(
            ecr.repository_arn,
            "arn:aws-cn:ecr:cn-north-1:123456789012:repository/app"
        );
        let ecr = ok("123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn/a/b")
            .ecr
            .unwrap();
        assert_eq!(ecr.partition, "aws-cn");
    }

    #[test]
    fn ecr_gov_cloud() {
        let ecr = ok("123456789012.dkr.ecr.us-gov-west-1.amazonaws.com/app")
            .ecr
            .unwrap();
        assert_eq!(ecr.partition, "aws-us-gov");
        assert_eq!(ecr.region, "us-gov-west-1");
        assert!(!ecr.fips);
        assert!(
            ecr.repository_arn
                .starts_with("arn:aws-us-gov:ecr:us-gov-west-1:")
        );
    }

    #[test]
    fn ecr_fips() {
        let ecr = ok("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/app:1")
            .ecr
            .unwrap();
        assert!(ecr.fips);
        assert_eq!(ecr.partition, "aws");
        assert_eq!(ecr.region, "us-east-1");
        let ecr = ok("123456789012.dkr.ecr-fips.us-gov-east-1.amazonaws.com/app")
            .ecr
            .unwrap();
        assert!(ecr.fips);
        assert_eq!(ecr.partition, "aws-us-gov");
    }

    #[test]
    fn ecr_dual_stack() {
        let ecr = ok("123456789012.dkr-ecr.us-west-2.on.aws/app:1")
            .ecr
            .unwrap();
        assert!(ecr.dual_stack);
        assert!(!ecr.fips);
        assert_eq!(ecr.partition, "aws");
        assert_eq!(ecr.region, "us-west-2");
        let ecr = ok("123456789012.dkr-ecr-fips.us-gov-west-1.on.aws/app")
            .ecr
            .unwrap();
        assert!(ecr.dual_stack && ecr.fips);
        assert_eq!(ecr.partition, "aws-us-gov");
        let ecr = ok("123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn/app")
            .ecr
            .unwrap();
        assert_eq!(ecr.partition, "aws-cn");
    }

    #[test]
    fn ecr_isolated_partitions() {
        for (host, partition) in [
            ("123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov", "aws-iso"),
            (
                "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
                "aws-iso-b",
            ),
            (
                "123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk",
                "aws-iso-e",
            ),
            (
                "123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov",
                "aws-iso-f",
            ),
            (
                "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu",
                "aws-eusc",
            ),
        ] {
            let ecr = ok(&format!("{host}/app")).ecr.unwrap();
            assert_eq!(ecr.partition, partition, "{host}");
        }
    }

    #[test]
    fn ecr_with_port_and_uppercase_host() {
        let r = ok("123456789012.DKR.ECR.US-WEST-2.AMAZONAWS.COM:443/app");
        assert_eq!(r.port, Some(443));
        assert_eq!(
            r.registry,
            "123456789012.DKR.ECR.US-WEST-2.AMAZONAWS.COM:443"
        );
        let ecr = r.ecr.unwrap();
        assert_eq!(ecr.region, "us-west-2");
        assert_eq!(ecr.partition, "aws");
    }

    #[test]
    fn not_ecr() {
        for s in [
            "abc.dkr.ecr.us-west-2.amazonaws.com/app",
            "123456789012.dkr.ecr.us-west-2.example.com/app",
            "dkr.ecr.us-west-2.amazonaws.com/app",
            "123456789012.ecr.us-west-2.amazonaws.com/app",
            "123456789012.dkr.ecr.amazonaws.com/app",
            "123456789012.dkr.ecr..amazonaws.com/app",
            "123456789012.dkr.ecr.us-west-2.amazonaws.com.evil.com/app",
            "api.ecr.us-west-2.amazonaws.com/app",
            "nginx",
        ] {
            if let Ok(r) = parse(s) {
                assert_eq!(r.ecr, None, "{s}");
            }
        }
    }

    #[test]
    fn ecr_public() {
        let r = ok("public.ecr.aws/eks/aws-load-balancer-controller:v2.7.1");
        assert_eq!(r.registry, "public.ecr.aws");
        assert_eq!(r.ecr, None);
        assert_eq!(
            r.ecr_public,
            Some(EcrPublicImage {
                alias: "eks".into(),
                repository: "aws-load-balancer-controller".into(),
            })
        );
        let p = ok("public.ecr.aws/aws-observability/aws-for-fluent-bit/nested")
            .ecr_public
            .unwrap();
        assert_eq!(p.alias, "aws-observability");
        assert_eq!(p.repository, "aws-for-fluent-bit/nested");
        assert_eq!(ok("public.ecr.aws/nginx").ecr_public, None);
        assert_eq!(ok("public.ecr.aws:443/a/b").ecr_public, None);
    }

    // ----- output -----

    #[test]
    fn serializes_camel_case() {
        let v = serde_json::to_value(ok(
            "1234567890.dkr.ecr.us-west-2.amazonaws.com/retail-sample-app-ui:1.2.1",
        ))
        .unwrap();
        assert_eq!(v["dockerHub"], false);
        assert_eq!(v["port"], serde_json::Value::Null);
        assert_eq!(v["digest"], serde_json::Value::Null);
        assert_eq!(v["ecrPublic"], serde_json::Value::Null);
        assert_eq!(v["ecr"]["accountValid"], false);
        assert_eq!(v["ecr"]["dualStack"], false);
        assert_eq!(
            v["ecr"]["repositoryArn"],
            "arn:aws:ecr:us-west-2:1234567890:repository/retail-sample-app-ui"
        );
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        for key in [
            "original",
            "registry",
            "host",
            "port",
            "repository",
            "name",
            "tag",
            "digest",
            "reference",
            "canonical",
            "dockerHub",
            "ecr",
            "ecrPublic",
        ] {
            assert!(keys.contains(&key), "{key}");
        }
        let v = serde_json::to_value(ok("public.ecr.aws/a/b")).unwrap();
        assert_eq!(v["ecrPublic"]["alias"], "a");
    }

    #[test]
    fn display_and_from_str() {
        let r: ImageRef = "nginx:1".parse().unwrap();
        assert_eq!(r.to_string(), "docker.io/library/nginx:1");
        assert!("Nginx".parse::<ImageRef>().is_err());
    }

    /// The first JSON code block of [`DOCS`], parsed.
    fn docs_json_example() -> serde_json::Value {
        let start = DOCS.find("```json\n").unwrap() + "```json\n".len();
        let len = DOCS[start..].find("```").unwrap();
        serde_json::from_str(&DOCS[start..start + len]).unwrap()
    }

    #[test]
    fn docs_example_is_accurate() {
        let example = docs_json_example();
        let input = example["original"].as_str().unwrap();
        assert!(DOCS.contains(&format!("`image_ref(\"{input}\")`")));
        assert_eq!(serde_json::to_value(ok(input)).unwrap(), example);
        assert_eq!(
            err("Foo:bar").to_string(),
            "invalid image reference `Foo:bar`: repository names must be lowercase"
        );
        assert!(
            DOCS.contains(
                "``invalid image reference `Foo:bar`: repository names must be lowercase``"
            )
        );
    }

    // ----- robustness -----

    /// Random cases for the robustness tests: proptest's runner with a fixed
    /// number of cases (a failure prints the smallest input it shrank to).
    fn cases<S: proptest::strategy::Strategy>(strategy: S, check: impl Fn(S::Value)) {
        let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
            cases: 20_000,
            // A fixed seed: a failure in CI is the same failure on a laptop.
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x9E37_79B9_7F4A_7C15),
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        });
        runner
            .run(&strategy, |v| {
                check(v);
                Ok(())
            })
            .unwrap();
    }

    fn check_invariants(input: &str) {
        match parse(input) {
            Ok(r) => {
                assert_eq!(r.original, input);
                assert!(r.name.len() <= NAME_MAX_LEN);
                assert_eq!(r.name, format!("{}/{}", r.registry, r.repository));
                assert!(r.canonical.starts_with(&r.name));
                // the canonical form is a fixed point
                let again = parse(&r.canonical).unwrap();
                assert_eq!(again.canonical, r.canonical, "{input:?}");
                assert_eq!(again.ecr, r.ecr, "{input:?}");
            }
            Err(e) => {
                assert!(e.to_string().starts_with("invalid image reference `"));
                assert!(e.help().is_some());
            }
        }
    }

    #[test]
    fn fuzz_structured_strings_never_panic() {
        const PIECES: &[&str] = &[
            "a",
            "b",
            "z",
            "0",
            "9",
            "A",
            "Z",
            "/",
            "/",
            ":",
            ":",
            "@",
            ".",
            "-",
            "_",
            "__",
            "[",
            "]",
            "::1",
            "localhost",
            "docker.io",
            "index.docker.io",
            "public.ecr.aws",
            "123456789012.dkr.ecr.us-west-2.amazonaws.com",
            ".dkr-ecr.",
            ".on.aws",
            "5000",
            "sha256:",
            "0123456789abcdef",
            "latest",
            "é",
            " ",
            "\u{0}",
            "://",
        ];
        cases(proptest::collection::vec(0..PIECES.len(), 0..12), |picks| {
            check_invariants(&picks.iter().map(|&i| PIECES[i]).collect::<String>())
        });
    }

    #[test]
    fn fuzz_random_bytes_never_panic() {
        cases(
            proptest::collection::vec(proptest::num::u8::ANY, 0..40),
            |bytes| check_invariants(&String::from_utf8_lossy(&bytes)),
        );
    }

    #[test]
    fn known_good_references() {
        for s in [
            "busybox",
            "busybox:1.36",
            "library/busybox",
            "quay.io/prometheus/node-exporter:v1.8.0",
            "ghcr.io/org/repo/image:sha-abc123",
            "gcr.io/distroless/static-debian12:nonroot",
            "registry.k8s.io/pause:3.9",
            "mcr.microsoft.com/dotnet/aspnet:8.0",
            "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.18.1-eksbuild.1",
            "k8s.gcr.io/kube-proxy:v1.29.0-eksbuild.1",
        ] {
            check_invariants(s);
            ok(s);
        }
    }
}
