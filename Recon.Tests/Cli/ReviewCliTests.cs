using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Recon.Tests.Hosting;
using Recon.Tests.Pipeline;
using Recon.Worker;

namespace Recon.Tests.Cli;

/// <summary>A reviewer's day in the CLI against Recon.Worker over HTTP on the real stack: list the queue, confirm a
/// proposal with the etag the list printed, see the same confirm refused as stale, resolve, unmatch.</summary>
public sealed class ReviewCliTests
{
    [Fact]
    public async Task ReviewVerbs_AgainstTheWorker_ListConfirmRefuseStaleResolveUnmatch()
    {
        await using var stack = await PipelineStack.CreateAsync(seed: 76, size: 10);
        await using (var cmd = stack.Db.DataSource.CreateCommand("truncate exceptions, reconciliation_results, provider_transactions, ledger_entries restart identity"))
        {
            await cmd.ExecuteNonQueryAsync();
        }
        await using (var cmd = stack.Db.DataSource.CreateCommand(ReviewHostParityTests.Seed))
        {
            await cmd.ExecuteNonQueryAsync();
        }
        var settings = stack.Settings();
        settings["Recon:Review:Operator"] = "cli-reviewer";
        var worker = WorkerApp.Build([], settings: settings);
        await worker.StartAsync();
        try
        {
            var (code, list, err) = await RunAsync(stack, "exceptions", "list", "--provider", "bank_a");
            Assert.True(code == 0, err);
            var rows = list.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Split('\t')).ToList();
            Assert.Equal(["bank_a:t1", "bank_a:t2", "bank_a:t3"], rows.Select(r => r[2]));
            var t1 = rows[0];
            Assert.Equal("L1(5000)", t1[10]);

            (code, var confirmed, err) = await RunAsync(stack, "match-confirm", "--provider", "bank_a", "--tx", "t1", "--etag", t1[12], "--note", "checked");
            Assert.True(code == 0, err);
            Assert.Contains("\"action\":\"confirm_match\"", confirmed, StringComparison.Ordinal);
            (code, _, err) = await RunAsync(stack, "match-confirm", "--provider", "bank_a", "--tx", "t1", "--etag", t1[12]);
            Assert.Equal(1, code);
            Assert.Contains("recon match-confirm: refused (409", err, StringComparison.Ordinal);

            (code, list, _) = await RunAsync(stack, "exceptions", "list", "--min-amount", "40", "--max-amount", "50");
            var l3 = list.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1].Split('\t');
            Assert.Equal("L3", l3[2]);
            (code, _, err) = await RunAsync(stack, "exceptions", "resolve", l3[0], "--reason", "written_off", "--etag", l3[12]);
            Assert.True(code == 0, err);

            var etag = System.Text.Json.JsonDocument.Parse(confirmed).RootElement.GetProperty("transactions")[0].GetProperty("etag").GetString()!;
            (code, var undone, err) = await RunAsync(stack, "unmatch", "--provider", "bank_a", "--tx", "t1", "--etag", etag, "--note", "wrong invoice");
            Assert.True(code == 0, err);
            Assert.Contains("\"outcome\":\"unmatched\"", undone, StringComparison.Ordinal);
            await using var audit = stack.Db.DataSource.CreateCommand("select string_agg(actor || ':' || action, ',' order by id) from audit_log");
            Assert.Equal("cli-reviewer:confirm_match,cli-reviewer:resolve_exception,cli-reviewer:manual_unmatch", (string?)await audit.ExecuteScalarAsync());
        }
        finally
        {
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
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(limit.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
