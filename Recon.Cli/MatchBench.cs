using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Recon.Core.Matching;

namespace Recon.Cli;

/// <summary>
/// <c>recon bench match</c>: generated data with realistic noise, matched on up to two threads; writes throughput and the
/// process's peak working set (which includes the generated data) as JSON. The payout case (1:N) is reported apart.
/// </summary>
internal static class MatchBench
{
    private const string Usage = "recon bench match --size N --out FILE.json [--payouts P --charges-per-payout C] [--runs R] [--seed S] [--write-files DIR] [--mix current|before-14]";

    public static Task<int> RunAsync(string[] args, IConfiguration configuration)
    {
        var a = new CliArgs(args, Usage, "--size", "--out", "--payouts", "--charges-per-payout", "--runs", "--seed", "--write-files", "--mix");
        // 10M is far past the 1M target; the limit keeps a typo from exhausting memory
        var size = a.Int("--size", 0, 0, 10_000_000);
        var payouts = a.Int("--payouts", 0, 0, 1_000_000);
        var charges = a.Int("--charges-per-payout", 100, 1, 10_000);
        var runs = a.Int("--runs", 1, 1, 20);
        var seed = a.Int("--seed", 1, 0, int.MaxValue);
        var outFile = a.Required("--out");
        if (size == 0 && payouts == 0)
        {
            throw new UsageException($"give --size or --payouts. usage: {Usage}");
        }
        var rules = MatchRules.FromConfiguration(configuration.GetSection("Recon:Matching"));

        using var stream = File.Create(outFile);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("machine_note", $"{Environment.ProcessorCount} logical cores, shared; matcher on up to {Math.Min(Matcher.MaxThreads, Environment.ProcessorCount)} threads; timings are noisy");
        if (size > 0)
        {
            // before-14: the data an older build generates, so both builds are timed (and fingerprinted) on the same input
            var mix = a.Get("--mix") ?? "current";
            if (mix is not ("current" or "before-14"))
            {
                throw new UsageException($"--mix is current or before-14. usage: {Usage}");
            }
            var scenario = MatchScenarioGenerator.Generate(size, seed, withEvidenceKinds: mix == "current");
            Console.Out.WriteLine($"mixed ({mix}): {scenario.Transactions.Count} transactions, {scenario.Ledger.Count} ledger entries");
            if (a.Get("--write-files") is { } dir)
            {
                WriteFiles(dir, scenario);
            }
            Measure(json, "mixed", scenario, rules, runs, withTruth: true);
        }
        if (payouts > 0)
        {
            var scenario = MatchScenarioGenerator.GeneratePayouts(payouts, charges, seed);
            Console.Out.WriteLine($"payouts: {payouts} deposits x {charges} charges = {scenario.Ledger.Count} ledger entries");
            Measure(json, "payouts_1n", scenario, rules, runs, withTruth: true);
        }
        json.WriteNumber("peak_working_set_bytes", PeakWorkingSet());
        json.WriteEndObject();
        json.Flush();
        Console.Out.WriteLine($"peak working set {PeakWorkingSet() / (1024 * 1024)} MiB; written {outFile}");
        return Task.FromResult(0);
    }

    /// <summary>
    /// <c>recon bench match-quality --size N --seeds A..B</c>: matched precision and recall of the generated mixed
    /// scenario at each seed, overall and per kind of case, as a table anyone can rerun (no timing).
    /// </summary>
    public static Task<int> QualityAsync(string[] args, IConfiguration configuration)
    {
        const string QualityUsage = "recon bench match-quality --size N --seeds A..B";
        var a = new CliArgs(args, QualityUsage, "--size", "--seeds");
        var size = a.Int("--size", 20_000, 1, 2_000_000);
        var seeds = a.Get("--seeds") ?? "1..10";
        var parts = seeds.Split("..");
        if (parts.Length != 2 || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out var from)
            || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var to) || from > to || from < 0)
        {
            throw new UsageException($"--seeds takes A..B (0 <= A <= B). usage: {QualityUsage}");
        }
        var rules = MatchRules.FromConfiguration(configuration.GetSection("Recon:Matching"));
        var matcher = new Matcher(rules);
        // per kind over all seeds: matched, correct, pairs, and the worst seed's precision and recall
        var total = new SortedDictionary<string, (int M, int C, int P, double MinP, double MinR)>(StringComparer.Ordinal);
        Console.Out.WriteLine($"mixed scenario, size {size}, seeds {from}..{to}, default rules");
        Console.Out.WriteLine($"{"seed",5} {"transactions",12} {"matched",8} {"precision",10} {"recall",8}");
        var ok = true;
        for (var seed = from; seed <= to; seed++)
        {
            var scenario = MatchScenarioGenerator.Generate(size, seed);
            var eval = MatchEvaluation.Evaluate(matcher.Match(scenario.Transactions, scenario.Ledger), scenario.Truth);
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{seed,5} {scenario.Transactions.Count,12} {eval.Matched,8} {eval.Precision,10:F4} {eval.Recall,8:F4}"));
            ok &= eval.Precision >= 0.999 && eval.Recall >= 0.98;
            foreach (var k in eval.ByKind)
            {
                var t = total.TryGetValue(k.Kind, out var seen) ? seen : (M: 0, C: 0, P: 0, MinP: 1.0, MinR: 1.0);
                total[k.Kind] = (t.M + k.Matched, t.C + k.CorrectMatched, t.P + k.TruthPairs, Math.Min(t.MinP, k.Precision), Math.Min(t.MinR, k.Recall));
            }
        }
        Console.Out.WriteLine();
        Console.Out.WriteLine($"{"kind",-28} {"matched",8} {"correct",8} {"pairs",8} {"precision",10} {"recall",8} {"worst seed P",13} {"worst seed R",13}");
        foreach (var (kind, t) in total)
        {
            var p = t.M == 0 ? 1.0 : (double)t.C / t.M;
            var r = t.P == 0 ? 1.0 : (double)t.C / t.P;
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{kind,-28} {t.M,8} {t.C,8} {t.P,8} {p,10:F4} {r,8:F4} {t.MinP,13:F4} {t.MinR,13:F4}"));
        }
        Console.Out.WriteLine(ok ? "every seed: precision >= 0.999 and recall >= 0.98" : "some seed missed precision >= 0.999 or recall >= 0.98");
        return Task.FromResult(ok ? 0 : 1);
    }

    private static void Measure(Utf8JsonWriter json, string name, MatchScenario scenario, MatchRules rules, int runs, bool withTruth)
    {
        var matcher = new Matcher(rules);
        var seconds = new List<double>();
        var cpuSeconds = new List<double>();
        var collections = new List<(int Gen0, int Gen1, int Gen2, long AllocatedBytes)>();
        MatchRun? run = null;
        for (var i = 0; i < runs; i++)
        {
            run = null;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var (g0, g1, g2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
            var allocated0 = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            run = matcher.Match(scenario.Transactions, scenario.Ledger);
            sw.Stop();
            // collections counted per generation (a gen2 also counts as gen1 and gen0): where the GC share of the CPU goes
            collections.Add((GC.CollectionCount(0) - g0, GC.CollectionCount(1) - g1, GC.CollectionCount(2) - g2,
                GC.GetAllocatedBytesForCurrentThread() - allocated0));
            seconds.Add(sw.Elapsed.TotalSeconds);
            // on a shared machine wall time includes waiting for a core; CPU time shows the matcher's own cost
            cpuSeconds.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds);
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {name} run {i + 1}: {sw.Elapsed.TotalSeconds:F3} s wall, {cpuSeconds[^1]:F3} s CPU, {scenario.Transactions.Count / sw.Elapsed.TotalSeconds:F0} transactions/s"));
        }
        seconds.Sort();
        cpuSeconds.Sort();
        var median = seconds[seconds.Count / 2];
        var medianCpu = cpuSeconds[cpuSeconds.Count / 2];
        json.WriteStartObject(name);
        json.WriteNumber("transactions", scenario.Transactions.Count);
        json.WriteNumber("ledger_entries", scenario.Ledger.Count);
        json.WriteNumber("runs", runs);
        json.WriteNumber("median_seconds", Math.Round(median, 4));
        json.WriteNumber("transactions_per_second", Math.Round(scenario.Transactions.Count / median));
        json.WriteNumber("ledger_entries_per_second", Math.Round(scenario.Ledger.Count / median));
        json.WriteNumber("median_cpu_seconds", Math.Round(medianCpu, 4));
        json.WriteNumber("transactions_per_cpu_second", Math.Round(scenario.Transactions.Count / medianCpu));
        json.WriteStartArray("seconds_each_run");
        foreach (var s in seconds)
        {
            json.WriteNumberValue(Math.Round(s, 4));
        }
        json.WriteEndArray();
        json.WriteStartArray("cpu_seconds_each_run");
        foreach (var s in cpuSeconds)
        {
            json.WriteNumberValue(Math.Round(s, 4));
        }
        json.WriteEndArray();
        json.WriteStartArray("gc_each_run");
        foreach (var (gen0, gen1, gen2, allocated) in collections)
        {
            json.WriteStartObject();
            json.WriteNumber("gen0_collections", gen0);
            json.WriteNumber("gen1_collections", gen1);
            json.WriteNumber("gen2_collections", gen2);
            json.WriteNumber("allocated_bytes", allocated);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteString("gc_settings", $"server={System.Runtime.GCSettings.IsServerGC}, latency={System.Runtime.GCSettings.LatencyMode}");
        // on a shared machine the two rates differ a lot; say which is which next to them
        json.WriteString("rates_note",
            "transactions_per_second = transactions / median wall seconds (includes waiting for a core); "
            + "transactions_per_cpu_second = transactions / median CPU seconds of the process during the match (GC threads included)");
        if (run is not null)
        {
            // a fingerprint of every verdict: two builds that agree on it decided the same way
            json.WriteString("results_sha256", Digest(run));
        }
        if (withTruth && run is not null)
        {
            var eval = MatchEvaluation.Evaluate(run, scenario.Truth);
            json.WriteNumber("precision", Math.Round(eval.Precision, 6));
            json.WriteNumber("recall", Math.Round(eval.Recall, 6));
            json.WriteStartObject("outcomes");
            foreach (var (o, n) in eval.Outcomes)
            {
                json.WriteNumber(MatchFiles.OutcomeName(o), n);
            }
            json.WriteEndObject();
        }
        json.WriteNumber("peak_working_set_bytes_so_far", PeakWorkingSet());
        json.WriteEndObject();
    }

    private static string Digest(MatchRun run)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var line = new StringBuilder();
        foreach (var r in run.Results)
        {
            line.Clear().Append(r.Provider).Append('|').AppendJoin(';', r.LedgerIds).Append('|').Append(r.ProviderTxId)
                .Append('|').Append((int)r.Outcome).Append('|').Append(r.Reason).Append('|').Append(r.Score)
                .Append('|').Append(r.DifferenceMinor).Append('|').Append(r.Rule).Append('|').Append(r.GroupKey).Append('\n');
            hash.AppendData(Encoding.UTF8.GetBytes(line.ToString()));
        }
        foreach (var id in run.UnmatchedLedgerIds)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(id + "\n"));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The generated data as <c>recon match</c> input files, to try the command on realistic data.</summary>
    private static void WriteFiles(string dir, MatchScenario scenario)
    {
        Directory.CreateDirectory(dir);
        using (var w = new StreamWriter(Path.Combine(dir, "ledger.csv")))
        {
            MatchFiles.WriteLedger(w, scenario.Ledger);
        }
        using (var w = new StreamWriter(Path.Combine(dir, "transactions.csv")))
        {
            MatchFiles.WriteTransactions(w, scenario.Transactions);
        }
        using (var w = new StreamWriter(Path.Combine(dir, "truth.csv")))
        {
            MatchFiles.WriteTruth(w, scenario.Truth);
        }
        Console.Out.WriteLine($"wrote ledger.csv, transactions.csv and truth.csv to {dir}");
    }

    private static long PeakWorkingSet()
    {
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.PeakWorkingSet64;
    }
}
