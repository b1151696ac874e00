//! Compiles every contract under `proto/` with protox (no system `protoc`), generates the
//! prost messages and tonic clients and servers, writes the encoded descriptor set, and a
//! module tree nested like the protobuf packages.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let out = PathBuf::from(env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed={}", root.display());

    let mut files = Vec::new();
    collect_protos(&root.join("aftercare"), &mut files)?;
    files.sort();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let mut compiler = protox::Compiler::new([&root])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(&files)?;
    // Encoded by protox itself: going through `prost_types` would drop extension options
    // such as `google.api.http`, which REST transcoding reads.
    fs::write(
        out.join("aftercare_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    let fds = compiler.file_descriptor_set();

    let packages: Vec<String> = fds
        .file
        .iter()
        .filter_map(|file| file.package.clone())
        .filter(|package| !package.starts_with("google.protobuf"))
        .collect();

    // `prost::Name` on every message, so events can pack payloads into `Any` by type name.
    let mut config = tonic_prost_build::Config::new();
    config
        .enable_type_names()
        .type_name_domain(["."], "type.googleapis.com");
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds_with_config(fds, config)?;

    fs::write(out.join("packages.rs"), module_tree(&packages))?;
    Ok(())
}

fn collect_protos(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            files.push(path);
        }
    }
    Ok(())
}

/// A tree of modules, one per package segment, each leaf including its generated file.
#[derive(Default)]
struct Tree(BTreeMap<String, (Tree, bool)>);

fn module_tree(packages: &[String]) -> String {
    let mut tree = Tree::default();
    for package in packages {
        let mut node = &mut tree;
        let segments: Vec<&str> = package.split('.').collect();
        for (index, segment) in segments.iter().enumerate() {
            let entry = node.0.entry((*segment).to_owned()).or_default();
            if index + 1 == segments.len() {
                entry.1 = true;
            }
            node = &mut entry.0;
        }
    }
    let mut code = String::new();
    render(&tree, "", &mut code);
    code
}

fn render(tree: &Tree, prefix: &str, code: &mut String) {
    for (segment, (children, has_file)) in &tree.0 {
        let package = if prefix.is_empty() {
            segment.clone()
        } else {
            format!("{prefix}.{segment}")
        };
        let _ = writeln!(code, "pub mod {segment} {{");
        if *has_file {
            let _ = writeln!(
                code,
                "include!(concat!(env!(\"OUT_DIR\"), \"/{package}.rs\"));"
            );
        }
        render(children, &package, code);
        let _ = writeln!(code, "}}");
    }
}
