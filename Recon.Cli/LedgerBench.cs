using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Recon.Core.Domain;
using Recon.Core.Ledger;
using Recon.Core.Matching;
using Recon.Core.Persistence;

namespace Recon.Cli;

/// <summary>
/// <c>recon bench ledger</c>: rows per second of <c>recon ledger import</c> — CSV parsed while it is sent by binary COPY,
/// set-based upsert, one transaction — for a new file, the same file again (idempotent: nothing written) and the file with every amount changed
/// (every entry a new version). Runs in a scratch database (created through <c>Recon:Database:AdminConnectionString</c>,
/// reached through PgBouncer like the application, dropped afterwards), so the ledger it writes — and the append-only
/// version history — never lands in the real one.
/// </summary>
internal static class LedgerBench
{
    public const string Usage = "bench ledger [--rows N] [--runs R] [--out FILE.json]";

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration)
    {
        var options = new CliArgs(args, Usage, "--rows", "--runs", "--out");
        var rows = options.Int("--rows", 200_000, 1_000, 10_000_000);
        var runs = options.Int("--runs", 3, 1, 20);
        var admin = configuration["Recon:Database:AdminConnectionString"]
            ?? throw new UsageException("Recon:Database:AdminConnectionString is not set (./recon up writes it to .recon/env): the benchmark needs a scratch database");
        var scratch = $"recon_bench_{Guid.NewGuid():N}"[..24];
        await ExecAsync(admin, $"create database {scratch}").ConfigureAwait(false);
        var dir = Directory.CreateTempSubdirectory("recon-ledger-bench");
        try
        {
            var db = LedgerCommand.ImportOptions(configuration);
            db.ConnectionString = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Database = scratch }.ConnectionString;
            await using var dataSource = ReconDataSource.Create(db);
            await Migrator.ApplyAsync(dataSource).ConfigureAwait(false);
            using var bulkhead = new DatabaseBulkhead(dataSource, db);
            var store = new LedgerStore(bulkhead);

            var results = new List<(string Case, int Run, double Seconds, double ParseSeconds, LedgerImportSummary Summary)>();
            for (var run = 1; run <= runs; run++)
            {
                var prefix = $"r{run}-";
                var fresh = Path.Combine(dir.FullName, $"fresh{run}.csv");
                var amended = Path.Combine(dir.FullName, $"amended{run}.csv");
                WriteFile(fresh, Generate(rows, prefix, 0));
                WriteFile(amended, Generate(rows, prefix, 1));
                foreach (var (name, file) in new[] { ("new", fresh), ("same again", fresh), ("all amended", amended) })
                {
                    // the parse alone, for where the time goes (not counted: the import below parses again, as it sends)
                    var parseStarted = Stopwatch.GetTimestamp();
                    using (var reader = new StreamReader(file))
                    {
                        _ = LedgerRows.ReadCsv(reader, file).Count;
                    }
                    var parsed = Stopwatch.GetElapsedTime(parseStarted).TotalSeconds;
                    // as recon ledger import does: parsed while it is sent (the copy phase includes the parse)
                    var started = Stopwatch.GetTimestamp();
                    LedgerImportSummary summary;
                    using (var reader = new StreamReader(file))
                    {
                        summary = await store.ImportAsync(LedgerRows.EnumerateCsv(reader, file), Path.GetFileName(file), "bench").ConfigureAwait(false);
                    }
                    var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                    results.Add((name, run, seconds, parsed, summary));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"run {run} {name,-12} {rows,9:N0} rows {seconds,7:0.000} s (parse alone {parsed:0.000} s) {rows / seconds,10:N0} rows/s  new {summary.Inserted} amended {summary.Amended} unchanged {summary.Unchanged}"));
                    // where the time goes: parse, then each phase of the import
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"      phases: {string.Join("  ", summary.Phases.Select(p => $"{p.Phase} {p.Seconds:0.000}"))}"));
                }
            }
            Console.WriteLine("median rows/s (parse + COPY + upsert, one transaction):");
            var report = new Dictionary<string, object>
            {
                ["rows"] = rows,
                ["runs"] = runs,
                ["processor_count"] = Environment.ProcessorCount,
            };
            foreach (var group in results.GroupBy(r => r.Case))
            {
                var median = Median(group.Select(g => rows / g.Seconds).ToList());
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {group.Key,-12} {median,10:N0}"));
                report[group.Key.Replace(' ', '_') + "_rows_per_second"] = Math.Round(median);
            }
            if (options.Get("--out") is { } outFile)
            {
                await File.WriteAllTextAsync(outFile, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true })).ConfigureAwait(false);
            }
            return 0;
        }
        finally
        {
            dir.Delete(recursive: true);
            NpgsqlConnection.ClearAllPools();
            await ExecAsync(admin, $"drop database if exists {scratch} with (force)").ConfigureAwait(false);
        }
    }

    /// <summary>A ledger shaped like the scenario's: 50 accounts, two weeks of value dates, log-spread amounts, references
    /// on most entries, an external ref on a third. <paramref name="amend"/> shifts every amount by that many minor units.</summary>
    private static IEnumerable<LedgerEntry> Generate(int rows, string prefix, long amend)
    {
        var random = new Random(42);
        var start = new DateOnly(2026, 11, 2);
        for (var i = 0; i < rows; i++)
        {
            var amount = (long)Math.Round(Math.Exp(4 + (random.NextDouble() * 8))) * (random.Next(4) == 0 ? -1 : 1);
            yield return new LedgerEntry($"{prefix}{i:D8}", $"bench:acct{i % 50:D2}", amount + amend, "USD", start.AddDays(i % 14),
                random.Next(10) < 8 ? $"INV-{i:D7}" : null, i % 3 == 0 ? $"ch_{i:x10}" : null, $"Customer {i % 997}", "bench, \"quoted\" text");
        }
    }

    private static void WriteFile(string path, IEnumerable<LedgerEntry> entries)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false));
        MatchFiles.WriteLedger(writer, entries);
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
    }

    private static async Task ExecAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
    }
}
