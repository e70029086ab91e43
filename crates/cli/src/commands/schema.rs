//! `rulerun schema`: the JSON schemas of rule, test, pack and configuration files.

use std::io::Write;
use std::path::Path;

use super::CmdResult;
use crate::args::SchemaName;
use crate::config::Ctx;
use crate::{escape, exit};

pub fn cmd_schema(
    name: Option<SchemaName>,
    out_dir: Option<&Path>,
    ctx: &Ctx,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    if let Some(dir) = out_dir {
        let real = ctx.resolve(dir);
        if let Err(e) = std::fs::create_dir_all(&real) {
            writeln!(err, "error: cannot create `{}`: {e}", escape::path(dir))?;
            return Ok(exit::USAGE);
        }
        for (_, file, text) in crate::schemas::all() {
            if let Err(e) = std::fs::write(real.join(file), text) {
                writeln!(
                    err,
                    "error: cannot write `{}`: {e}",
                    escape::path(&dir.join(file))
                )?;
                return Ok(exit::USAGE);
            }
            writeln!(out, "wrote {}", escape::path(&dir.join(file)))?;
        }
        return Ok(exit::OK);
    }
    let value = match name {
        Some(n) => crate::schemas::schema(n.as_str()).unwrap_or_default(),
        None => {
            let mut all = serde_json::Map::new();
            for (n, _, _) in crate::schemas::SCHEMAS {
                if let Some(s) = crate::schemas::schema(n) {
                    all.insert((*n).to_string(), s);
                }
            }
            serde_json::Value::Object(all)
        }
    };
    let text = serde_json::to_string_pretty(&value).map_err(std::io::Error::other)?;
    writeln!(out, "{text}")?;
    Ok(exit::OK)
}
