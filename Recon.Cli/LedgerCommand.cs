using Microsoft.Extensions.Configuration;
using Recon.Core.Ledger;
using Recon.Core.Persistence;
using Recon.Core.Review;

namespace Recon.Cli;

/// <summary><c>recon ledger import FILE.csv [--as NAME]</c>: the file through binary COPY into the database, whole or not at all;
/// <c>recon ledger export</c>: the current entries in the same CSV shape (an export imported again changes nothing).</summary>
internal static class LedgerCommand
{
    public const string Usage = "ledger import FILE.csv [--as NAME] | ledger export [--out FILE.csv] [--account PREFIX]";

    /// <summary>A file import runs outside any batch window: a million-row file's upsert may take longer than the 10 s a
    /// pipeline command gets, so the CLI allows five minutes per statement.</summary>
    public const int ImportCommandTimeoutSeconds = 300;

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration)
    {
        if (args.Length >= 1 && args[0] == "export")
        {
            return await ExportAsync(new CliArgs(args[1..], Usage, "--out", "--account"), configuration).ConfigureAwait(false);
        }
        if (args.Length < 2 || args[0] != "import")
        {
            throw new UsageException($"usage: {Usage}");
        }
        var file = args[1];
        var options = new CliArgs(args[2..], Usage, "--as");
        if (!File.Exists(file))
        {
            throw new UsageException($"{file}: no such file");
        }
        var actor = ActorOf(configuration, options.Get("--as"));

        await using var dataSource = ReconDataSource.Create(ImportOptions(configuration));
        using var bulkhead = new DatabaseBulkhead(dataSource, ImportOptions(configuration));
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        LedgerImportSummary summary;
        try
        {
            // parsed as it is sent: a bad row aborts the import's one transaction, so nothing of the file is kept
            using var reader = new StreamReader(file);
            summary = await new LedgerStore(bulkhead).ImportAsync(LedgerRows.EnumerateCsv(reader, file), Path.GetFileName(file), actor).ConfigureAwait(false);
        }
        catch (LedgerRowException ex)
        {
            Console.Error.WriteLine($"recon ledger: {ex.Message}; nothing imported");
            return 1;
        }
        var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
        Console.WriteLine($"{file}: {summary.Received} entries: {summary.Inserted} new, {summary.Amended} amended (new version), {summary.Unchanged} unchanged; " +
            $"{summary.VerdictsReopened} verdicts reopened for the next batch ({seconds:0.00} s, as {actor})");
        return 0;
    }

    /// <summary>The current version of every entry (of accounts starting with <c>--account</c>), ordered by id, through a
    /// text COPY in PostgreSQL's own CSV quoting (RFC 4180), to <c>--out</c> (whole or not at all) or standard output.</summary>
    private static async Task<int> ExportAsync(CliArgs options, IConfiguration configuration)
    {
        var prefix = options.Get("--account");
        await using var dataSource = ReconDataSource.Create(ImportOptions(configuration));
        await using var connection = await dataSource.OpenConnectionAsync().ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync().ConfigureAwait(false);
        // COPY takes no parameters: the prefix goes through a transaction-local setting (safe through PgBouncer)
        await using (var set = new Npgsql.NpgsqlCommand("select set_config('recon.export_prefix', $1, true)", connection, tx))
        {
            set.Parameters.Add(new() { Value = prefix ?? "" });
            await set.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        var columns = string.Join(", ", Recon.Core.Matching.MatchFiles.LedgerColumns.Append("external_ref"));
        var target = options.Get("--out");
        var partial = target is null ? null : target + ".partial";
        long rows = -1;
        // the export reader is closed (the COPY finished) before the transaction ends
        using (var reader = await connection.BeginTextExportAsync(
            $"copy (select {columns} from ledger_entries where starts_with(account, current_setting('recon.export_prefix')) order by id) to stdout with (format csv, header true)")
            .ConfigureAwait(false))
        await using (var writer = partial is null ? new StreamWriter(Console.OpenStandardOutput()) : new StreamWriter(partial))
        {
            string? line;
            while ((line = await reader.ReadLineAsync().ConfigureAwait(false)) is not null)
            {
                await writer.WriteLineAsync(line).ConfigureAwait(false);
                rows++;
            }
        }
        await tx.CommitAsync().ConfigureAwait(false);
        if (target is not null)
        {
            File.Move(partial!, target, overwrite: true);
            Console.Error.WriteLine($"recon ledger export: wrote {target} ({Math.Max(rows, 0)} lines after the header)");
        }
        return 0;
    }

    /// <summary>The database settings with the import's longer statement timeout.</summary>
    internal static DatabaseOptions ImportOptions(IConfiguration configuration)
    {
        var options = configuration.GetSection(DatabaseOptions.SectionName).Get<DatabaseOptions>() ?? new DatabaseOptions();
        options.CommandTimeoutSeconds = Math.Max(options.CommandTimeoutSeconds, ImportCommandTimeoutSeconds);
        options.MaxConcurrentOperations = 1;
        return options;
    }

    /// <summary><c>--as</c>, else <c>Recon:Review:Operator</c>, else the account running the command.</summary>
    internal static string ActorOf(IConfiguration configuration, string? asName)
    {
        var review = configuration.GetSection(ReviewOptions.SectionName).Get<ReviewOptions>() ?? new ReviewOptions();
        return review.ActorOf(asName, Environment.UserName);
    }
}
