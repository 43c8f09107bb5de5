//! The `dircache` binary (not built yet: issue "dircache CLI and dircache serve").

fn main() {
    eprintln!("dircache: the command line is not built yet (see the open issue \"dircache CLI and dircache serve\")");
    std::process::exit(2);
}
