using Recon.Cli;

return await CommandLine.RunAsync(args).ConfigureAwait(false);
