using Microsoft.Extensions.Configuration;

namespace Recon.Cli;

/// <summary>Dispatches <c>recon VERB ...</c>; the bash <c>./recon</c> handles the stack verbs and forwards the rest here.</summary>
internal static class CommandLine
{
    private static readonly Dictionary<string, (string Help, Func<string[], IConfiguration, Task<int>> Run)> Verbs = new(StringComparer.Ordinal)
    {
        ["migrate"] = ("apply the schema migrations to Recon:Database:ConnectionString", MigrateCommand.RunAsync),
        ["demo"] = ("the main job (run it as ./recon demo, which brings the stack up first): demo [--seed N] [--size N] [--page-size N] [--timeout-seconds N]", DemoCommand.RunAsync),
        ["ingest"] = ("submit a reconciliation to the running worker: ingest --provider P --account A --from yyyy-MM-dd --to yyyy-MM-dd [--page-size N] [--run-id ID]", IngestCommand.RunAsync),
        ["status"] = ("batches by status per run, from PostgreSQL: status [--run ID]...", StatusCommand.RunAsync),
        ["report"] = ("counts and amounts matched/proposed/open per day or run, or the pipeline report (verdicts, latency, provider calls): " + ReportCommands.ReportUsage, ReportCommands.ReportAsync),
        ["results"] = ("every verdict per item with its evidence, paged, or all of them as CSV/NDJSON: " + ReportCommands.ResultsUsage, ReportCommands.ResultsAsync),
        ["bench"] = ("speed benchmarks, reported not asserted: bench match | bucket | spike (see bench without arguments)", BenchCommand.RunAsync),
        ["match"] = ("match provider transactions against a ledger from files: match --ledger L.csv --transactions F --out R.csv [--rules J] [--truth T.csv]", MatchCommand.RunAsync),
        ["scenario"] = ("generate a scenario into the ledger and the running sandboxes: scenario --seed N --size N [--out-truth FILE]", ScenarioCommand.RunAsync),
        ["ledger"] = ("import ledger entries (new, amended as a new version, unchanged skipped), whole file or nothing: " + LedgerCommand.Usage, LedgerCommand.RunAsync),
        ["exceptions"] = ("the review queue through the running worker: " + ReviewCommands.ExceptionsUsage, ReviewCommands.ExceptionsAsync),
        ["match-confirm"] = ("confirm a proposal or match by hand (1:1, 1:N, N:1): " + ReviewCommands.ConfirmUsage, ReviewCommands.ConfirmAsync),
        ["unmatch"] = ("undo a verdict: " + ReviewCommands.UnmatchUsage, ReviewCommands.UnmatchAsync),
        ["balances"] = ("the balance proof per bank account and statement day (exit 3 when a day does not prove): " + ReportCommands.BalancesUsage, ReportCommands.BalancesAsync),
        ["parse"] = ("parse a BAI2 or camt.053 bank statement file and print it as JSON: parse FILE [--format bai2|camt053]", ParseCommand.RunAsync),
    };

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            PrintHelp();
            return args.Length == 0 ? 2 : 0;
        }
        if (!Verbs.TryGetValue(args[0], out var verb))
        {
            Console.Error.WriteLine($"recon: unknown command '{args[0]}'.");
            PrintHelp();
            return 2;
        }
        var configuration = LoadConfiguration();
        try
        {
            return await verb.Run(args[1..], configuration).ConfigureAwait(false);
        }
        catch (UsageException ex)
        {
            Console.Error.WriteLine($"recon {args[0]}: {ex.Message}");
            return 2;
        }
        catch (Exception ex) when (UnreachableServer(ex) is { } server)
        {
            // a server that is down is a setup problem, not a crash: say which one and what to do, without a stack trace
            Console.Error.WriteLine($"recon {args[0]}: cannot reach {server}: {ex.GetBaseException().Message}. Start the local stack with ./recon up " +
                "(./recon demo and ./recon bench spike|bucket do it themselves), or check the Recon__* settings (.recon/env).");
            return 1;
        }
    }

    /// <summary>Which server a failure says is unreachable (a refused or failed connection somewhere in its chain), or null.</summary>
    internal static string? UnreachableServer(Exception ex)
    {
        var refused = false;
        for (var e = (Exception?)ex; e is not null; e = e.InnerException)
        {
            refused |= e is System.Net.Sockets.SocketException;
        }
        return ex switch
        {
            StackExchange.Redis.RedisConnectionException => "Redis",
            Npgsql.NpgsqlException when refused => "PostgreSQL or PgBouncer",
            HttpRequestException when refused => "an HTTP service (the worker or the provider sandboxes)",
            Azure.RequestFailedException when refused => "Azure Storage (Azurite)",
            _ => null,
        };
    }

    /// <summary>appsettings.json beside the binary (optional), then environment variables (<c>Recon__Database__ConnectionString</c>).</summary>
    public static IConfiguration LoadConfiguration()
        => new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .Build();

    private static void PrintHelp()
    {
        Console.Error.WriteLine("usage: recon <command> [options]");
        foreach (var (name, (help, _)) in Verbs.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            Console.Error.WriteLine($"  {name,-10} {help}");
        }
    }
}

/// <summary>A wrong command line: printed without a stack trace, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
