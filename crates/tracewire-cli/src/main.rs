//! The `tracewire` command; see the library docs (`tracewire_cli`) for what it does.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let code = tracewire_cli::run(&args, &mut std::io::stdout(), &mut std::io::stderr());
    std::process::exit(code);
}
