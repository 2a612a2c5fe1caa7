//! With the `mujoco` feature, embed the MuJoCo library folder as rpath so tests and binaries run
//! without LD_LIBRARY_PATH (the folder comes from `.cargo/config.toml`).
fn main() {
    println!("cargo::rerun-if-env-changed=MUJOCO_DYNAMIC_LINK_DIR");
    if std::env::var_os("CARGO_FEATURE_MUJOCO").is_some() {
        if let Ok(dir) = std::env::var("MUJOCO_DYNAMIC_LINK_DIR") {
            println!("cargo::rustc-link-arg=-Wl,-rpath,{dir}");
        }
    }
}
