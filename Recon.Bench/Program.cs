using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Recon.Bench.MatchBenchmarks).Assembly).Run(args);
