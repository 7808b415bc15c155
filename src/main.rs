use std::process::ExitCode;

use clap::Parser;
use kubectl_sts::cli::Cli;
use kubectl_sts::error::Exit;
use kubectl_sts::output;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::err(&format!("error: cannot start the async runtime: {e}\n"));
            return ExitCode::from(Exit::Api as u8);
        }
    };
    let result = runtime.block_on(kubectl_sts::run(&cli));
    let exit = match result {
        // The reader of stdout went away (`| head`): the output is incomplete, so not 0.
        Ok(()) if output::stdout_closed() => Exit::OutputClosed,
        Ok(()) => Exit::Ok,
        Err(e) => {
            if !e.message.is_empty() {
                output::err(&format!("error: {e}\n"));
            }
            e.exit()
        }
    };
    ExitCode::from(exit as u8)
}
