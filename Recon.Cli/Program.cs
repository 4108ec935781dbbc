// fully qualified: BenchmarkDotNet (through Recon.Bench) brings a namespace CommandLine
return await Recon.Cli.CommandLine.RunAsync(args).ConfigureAwait(false);
