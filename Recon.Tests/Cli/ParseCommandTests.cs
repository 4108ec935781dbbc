using System.Diagnostics;
using System.Text.Json;

namespace Recon.Tests.Cli;

/// <summary><c>recon parse</c> as a user runs it: BTRS accepted with its version, foreign-currency balances kept and warned about.</summary>
public sealed class ParseCommandTests
{
    private static string Peer(string file) => Path.Combine(AppContext.BaseDirectory, "TestData", "bank-statements-peers", file);

    [Fact]
    public async Task Parse_BtrsFile_PrintsVersion3AndTheStatements()
    {
        var (exit, stdout, stderr) = await RunAsync("parse", Peer("bai2/moov-io-bai2_sample1-btrs.txt"));

        Assert.True(exit == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal("bai2", json.RootElement.GetProperty("format").GetString());
        Assert.Equal(3, json.RootElement.GetProperty("version").GetInt32());
        Assert.Equal(2, json.RootElement.GetProperty("statements").GetArrayLength());
    }

    [Fact]
    public async Task Parse_CamtBalanceInOtherCurrency_KeptInOutputAndWarnedOnStderr()
    {
        var (exit, stdout, stderr) = await RunAsync("parse", Peer("camt053/genkgo-camt_camt053.v3.xml"));

        Assert.True(exit == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var statement = json.RootElement.GetProperty("statements")[0];
        Assert.Equal(JsonValueKind.Null, statement.GetProperty("closingMinor").ValueKind);
        var clbd = statement.GetProperty("otherCurrencyBalances").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "CLBD");
        Assert.Equal(("SEK", -2700L), (clbd.GetProperty("currency").GetString(), clbd.GetProperty("amountMinor").GetInt64()));
        Assert.Equal(3, json.RootElement.GetProperty("warnings").GetArrayLength());
        Assert.Contains("warning: Stmt[1]: balance CLBD is in SEK", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Parse_MalformedPeerFile_Exit1NamingLineAndField()
    {
        var (exit, stdout, stderr) = await RunAsync("parse", Peer("bai2/moov-io-bai2_sample-parseError.txt"));

        Assert.Equal(1, exit);
        Assert.Matches("line [0-9]+, field '[^']+'", stderr);
        Assert.Equal("", stdout.Trim());
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "recon.dll"));
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(limit.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
