using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Recon.Tests.Hosting;
using Recon.Tests.Infrastructure;
using Recon.Tests.Pipeline;
using Recon.Worker;

namespace Recon.Tests.Cli;

/// <summary>The team's reading and bulk verbs in the CLI against Recon.Worker over HTTP on the real stack: the balance
/// proof, results and their export, the daily and run reports, a bulk confirm by filter, a group resolve, and the ledger
/// export (which imports again unchanged).</summary>
public sealed class ReportCliTests
{
    [Fact]
    public async Task ReportVerbs_AgainstTheWorker_BalancesResultsReportsBulkAndLedgerExport()
    {
        await using var stack = await PipelineStack.CreateAsync(seed: 79, size: 10);
        await ReportHostParityTests.ExecAsync(stack.Db.DataSource, "truncate exceptions, reconciliation_results, provider_transactions, ledger_entries, statement_balances, batches, runs restart identity");
        await ReportHostParityTests.ExecAsync(stack.Db.DataSource, ReportHostParityTests.ResultsSeed);
        var settings = stack.Settings();
        settings["Recon:Review:Operator"] = "cli-reviewer";
        var worker = WorkerApp.Build([], settings: settings);
        await worker.StartAsync();
        var dir = Directory.CreateTempSubdirectory("recon-report-cli");
        try
        {
            // the balance proof: exit 3 because 2026-11-21 does not prove; the statement lines add up
            var (code, balances, err) = await RunAsync(stack, "balances", "--account", "100200300");
            Assert.True(code == 3, $"{code}: {err}");
            Assert.Contains("bank_a 100200300 2026-11-20 USD: proved", balances, StringComparison.Ordinal);
            Assert.Contains("bank_a 100200300 2026-11-21 USD: NOT PROVED", balances, StringComparison.Ordinal);
            (code, balances, err) = await RunAsync(stack, "balances", "--day", "2026-11-20", "--json");
            Assert.True(code == 0, err);
            Assert.True(JsonDocument.Parse(balances).RootElement.GetProperty("items")[0].GetProperty("proved").GetBoolean());

            (code, var results, err) = await RunAsync(stack, "results", "--outcome", "proposed", "--limit", "2");
            Assert.True(code == 0, err);
            var lines = results.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(["ch_1", "ch_2"], lines.Skip(1).Take(2).Select(l => l.Split('\t')[1]));
            Assert.StartsWith("more: --after ", lines[^1], StringComparison.Ordinal);

            var export = Path.Combine(dir.FullName, "results.ndjson");
            (code, _, err) = await RunAsync(stack, "results", "export", "--format", "ndjson", "--provider", "stripe", "--out", export);
            Assert.True(code == 0, err);
            Assert.Equal(3, File.ReadAllLines(export).Length);

            (code, var daily, err) = await RunAsync(stack, "report", "daily", "--day", "2026-11-20", "--format", "csv");
            Assert.True(code == 0, err);
            Assert.Contains("stripe,acct_1,USD,0,0,3,6000,0,0,1,4000", daily, StringComparison.Ordinal);
            (code, _, err) = await RunAsync(stack, "report", "run", "run-nope");
            Assert.Equal(1, code);
            Assert.Contains("404", err, StringComparison.Ordinal);

            (code, var bulk, err) = await RunAsync(stack, "match-confirm", "--min-score", "800", "--provider", "stripe", "--note", "bulk by filter");
            Assert.True(code == 0, err);
            Assert.Equal(["ch_1", "ch_3"], JsonDocument.Parse(bulk).RootElement.GetProperty("confirmed").EnumerateArray().Select(i => i.GetProperty("providerTxId").GetString()));

            (code, var list, err) = await RunAsync(stack, "exceptions", "list", "--provider", "bank_a");
            Assert.True(code == 0, err);
            var rows = list.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Split('\t')).ToList();
            Assert.Equal(["bank_a:t2", "bank_a:100200300:2026-11-21"], rows.Select(r => r[2]));
            (code, _, err) = await RunAsync(stack, "exceptions", "resolve-group", "--items", string.Join(',', rows.Select(r => $"{r[0]}:{r[12]}")), "--reason", "timing_difference");
            Assert.True(code == 0, err);
            Assert.Equal(["cli-reviewer|confirm_match|2", "cli-reviewer|resolve_exception|2"],
                await TestPolling.RowsAsync(stack.Db.DataSource, "select actor, action, count(*) from audit_log group by 1, 2 order by 2"));

            var ledger = Path.Combine(dir.FullName, "ledger.csv");
            (code, _, err) = await RunAsync(stack, "ledger", "export", "--out", ledger, "--account", "stripe:");
            Assert.True(code == 0, err);
            var exported = File.ReadAllLines(ledger);
            Assert.Equal("id,account,amount_minor,currency,value_date,reference,counterparty,description,external_ref", exported[0]);
            Assert.Equal(["P1", "P2", "P3", "S1"], exported.Skip(1).Select(l => l.Split(',')[0]));
            (code, var imported, err) = await RunAsync(stack, "ledger", "import", ledger);
            Assert.True(code == 0, err);
            Assert.Contains("0 new, 0 amended (new version), 4 unchanged", imported, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
            await worker.StopAsync();
            await worker.Services.GetRequiredService<Recon.Worker.Hosting.DurableHost>().DeleteHubAsync();
            await worker.DisposeAsync();
        }
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(PipelineStack stack, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "recon.dll"));
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        info.Environment["RECON_WORKER_URL"] = stack.WorkerUrl.ToString();
        info.Environment["Recon__Database__ConnectionString"] = stack.Db.ConnectionString;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(limit.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
