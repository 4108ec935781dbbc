using System.Globalization;
using Microsoft.Extensions.Configuration;
using Recon.Core.Domain;
using Recon.Core.Ingestion.Statements;
using Recon.Core.Matching;

namespace Recon.Cli;

/// <summary>
/// <c>recon match --ledger LEDGER.csv --transactions FILE [--rules RULES.json] --out RESULTS.csv [--truth TRUTH.csv]</c>:
/// matches files with no server; writes the results whole or not at all.
/// </summary>
internal static class MatchCommand
{
    private const string Usage = "recon match --ledger LEDGER.csv --transactions FILE(.csv|BAI2|camt.053) [--rules RULES.json] --out RESULTS.csv [--truth TRUTH.csv]";

    public static Task<int> RunAsync(string[] args, IConfiguration configuration)
    {
        var a = new CliArgs(args, Usage, "--ledger", "--transactions", "--rules", "--out", "--truth");
        var ledgerFile = Existing(a.Required("--ledger"));
        var txFile = Existing(a.Required("--transactions"));
        var outFile = a.Required("--out");
        var rulesFile = a.Get("--rules");
        var truthFile = a.Get("--truth");

        MatchRules rules;
        List<LedgerEntry> ledger;
        IReadOnlyList<ProviderTransaction> transactions;
        List<MatchTruth>? truth = null;
        try
        {
            rules = rulesFile is null
                ? MatchRules.FromConfiguration(configuration.GetSection("Recon:Matching"))
                : MatchRules.FromJson(File.ReadAllText(Existing(rulesFile)));
            using (var r = File.OpenText(ledgerFile))
            {
                ledger = MatchFiles.ReadLedger(r, ledgerFile);
            }
            transactions = ReadTransactions(txFile);
            if (truthFile is not null)
            {
                using var r = File.OpenText(Existing(truthFile));
                truth = MatchFiles.ReadTruth(r, truthFile);
            }
        }
        catch (Exception ex) when (ex is MatchFileException or StatementFormatException or FormatException)
        {
            Console.Error.WriteLine($"recon match: {(ex is StatementFormatException ? txFile + ": " : "")}{ex.Message}");
            Console.Error.WriteLine("recon match: nothing written.");
            return Task.FromResult(1);
        }

        var run = new Matcher(rules).Match(transactions, ledger);

        // write beside the target and rename, so a failure never leaves half a results file
        var full = Path.GetFullPath(outFile);
        var temp = full + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        using (var w = new StreamWriter(temp))
        {
            MatchFiles.WriteResults(w, run.Results);
        }
        File.Move(temp, full, overwrite: true);

        var counts = run.Results.GroupBy(r => r.Outcome).ToDictionary(g => g.Key, g => g.Count());
        Console.Out.WriteLine($"transactions {run.Results.Count}, ledger entries {ledger.Count}");
        foreach (var o in Enum.GetValues<MatchOutcome>())
        {
            Console.Out.WriteLine($"  {MatchFiles.OutcomeName(o),-10} {counts.GetValueOrDefault(o)}");
        }
        Console.Out.WriteLine($"  ledger entries not matched: {run.UnmatchedLedgerIds.Count}");
        if (truth is not null)
        {
            var eval = MatchEvaluation.Evaluate(run, truth);
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"precision {eval.Precision:F4} ({eval.CorrectMatched}/{eval.Matched} matched agree with the truth), recall {eval.Recall:F4} ({eval.CorrectMatched}/{eval.TruthPairs} truth pairs matched)"));
            WriteKindTable(Console.Out, eval.ByKind);
        }
        Console.Out.WriteLine($"results: {outFile}");
        return Task.FromResult(0);
    }

    /// <summary>Precision and recall of matched per kind of case (the truth file's <c>kind</c> column).</summary>
    internal static void WriteKindTable(TextWriter w, IReadOnlyList<KindEvaluation> byKind)
    {
        w.WriteLine($"  {"kind",-28} {"matched",8} {"correct",8} {"pairs",8} {"precision",10} {"recall",8}");
        foreach (var k in byKind)
        {
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {k.Kind,-28} {k.Matched,8} {k.CorrectMatched,8} {k.TruthPairs,8} {k.Precision,10:F4} {k.Recall,8:F4}"));
        }
    }

    private static IReadOnlyList<ProviderTransaction> ReadTransactions(string file)
    {
        var text = File.ReadAllText(file);
        var start = text.TrimStart('\uFEFF', ' ', '\t', '\r', '\n');
        if (start.StartsWith("provider", StringComparison.Ordinal))
        {
            return MatchFiles.ReadTransactions(new StringReader(text), file);
        }
        var parsed = StatementParser.Parse(text);
        return parsed.Statements.SelectMany(s => s.Transactions).ToList();
    }

    private static string Existing(string file) => File.Exists(file) ? file : throw new UsageException($"{file}: no such file");
}
