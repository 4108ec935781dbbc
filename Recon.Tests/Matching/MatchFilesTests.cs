using Recon.Core.Domain;
using Recon.Core.Matching;

namespace Recon.Tests.Matching;

public sealed class MatchFilesTests
{
    [Fact]
    public void ReadLedger_QuotedFieldsWithCommasQuotesAndNewlines_ReadAsWritten()
    {
        const string csv = "id,account,amount_minor,currency,value_date,reference,counterparty,description\n"
            + "L1,recv,12345,USD,2026-03-02,INV-1,\"Acme, Inc.\",\"said \"\"hi\"\"\nsecond line\"\r\n"
            + "L2,recv,-5,JPY,2026-03-03,,,\n";

        var rows = MatchFiles.ReadLedger(new StringReader(csv), "l.csv");

        Assert.Equal(2, rows.Count);
        Assert.Equal(new LedgerEntry("L1", "recv", 12_345, "USD", new DateOnly(2026, 3, 2), "INV-1", null, "Acme, Inc.", "said \"hi\"\nsecond line"), rows[0]);
        Assert.Equal((-5L, "JPY", (string?)null), (rows[1].AmountMinor, rows[1].Currency, rows[1].Reference));
    }

    [Theory]
    [InlineData("L1,recv,12.34,USD,2026-03-02,,,", 3, "'12.34' is not an integer")]
    [InlineData("L1,recv,100,usd,2026-03-02,,,", 3, "'usd' is not an ISO 4217")]
    [InlineData("L1,recv,100,USD,03/02/2026,,,", 3, "not a date (YYYY-MM-DD)")]
    [InlineData("L1,recv,100,USD,2026-03-02,,", 3, "7 fields where the header has 8")]
    [InlineData("L0,recv,100,USD,2026-03-02,,,", 3, "ledger id 'L0' appears twice")]
    [InlineData("L1,recv,100,USD,2026-03-02,\"open,,", 3, "quoted field is never closed")]
    public void ReadLedger_MalformedRow_ThrowsWithLineNumberAndWhat(string badRow, int line, string what)
    {
        var csv = "id,account,amount_minor,currency,value_date,reference,counterparty,description\nL0,recv,1,USD,2026-03-01,,,\n" + badRow + "\n";

        var ex = Assert.Throws<MatchFileException>(() => MatchFiles.ReadLedger(new StringReader(csv), "ledger.csv"));

        Assert.Equal(line, ex.Line);
        Assert.Contains(what, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith($"ledger.csv: line {line}:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadTransactions_HeaderMissingColumn_ThrowsNamingIt()
    {
        var ex = Assert.Throws<MatchFileException>(() => MatchFiles.ReadTransactions(new StringReader("provider,provider_tx_id\n"), "t.csv"));

        Assert.Contains("lacks column 'account'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GeneratedScenario_WrittenAndReadBack_SameMatchResults()
    {
        var s = MatchScenarioGenerator.Generate(2_000, 5);
        var ledgerCsv = new StringWriter();
        var txCsv = new StringWriter();
        MatchFiles.WriteLedger(ledgerCsv, s.Ledger);
        MatchFiles.WriteTransactions(txCsv, s.Transactions);

        var ledger = MatchFiles.ReadLedger(new StringReader(ledgerCsv.ToString()), "l.csv");
        var tx = MatchFiles.ReadTransactions(new StringReader(txCsv.ToString()), "t.csv");
        var matcher = new Matcher(new MatchRules());
        var direct = new StringWriter();
        var viaFiles = new StringWriter();
        MatchFiles.WriteResults(direct, matcher.Match(s.Transactions, s.Ledger).Results);
        MatchFiles.WriteResults(viaFiles, matcher.Match(tx, ledger).Results);

        Assert.Equal(s.Ledger, ledger);
        Assert.Equal(direct.ToString(), viaFiles.ToString());
        Assert.StartsWith("provider,provider_tx_id,ledger_ids,outcome,score,difference_minor,rule,reason,score_key,", direct.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultRulesFile_Loads_AndEqualsTheBuiltInDefaults()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Recon.sln")))
        {
            dir = dir.Parent;
        }
        Assert.NotNull(dir);

        var rules = MatchRules.FromJson(File.ReadAllText(Path.Combine(dir!.FullName, "deploy", "rules", "default.json")));

        var builtIn = new MatchRules();
        Assert.Equal(
            (builtIn.ConfirmThreshold, builtIn.ProposeThreshold, builtIn.AmountToleranceMinor, builtIn.AmountToleranceBasisPoints, builtIn.DateWindowDays, builtIn.BusinessDays, builtIn.MaxBucketCandidates),
            (rules.ConfirmThreshold, rules.ProposeThreshold, rules.AmountToleranceMinor, rules.AmountToleranceBasisPoints, rules.DateWindowDays, rules.BusinessDays, rules.MaxBucketCandidates));
    }

    [Theory]
    [InlineData("{\"confirmThreshold\": 2000}", "confirmThreshold must be 1..1000")]
    [InlineData("{\"amountToleranceMinr\": 5}", "amountToleranceMinr")]
    [InlineData("{\"conversions\": [{\"from\": \"EUR\", \"to\": \"EUR\", \"rateMicros\": 1}]}", "two different ISO 4217 codes")]
    public void RulesFromJson_BadRule_ThrowsNamingIt(string json, string what)
    {
        var ex = Assert.Throws<FormatException>(() => MatchRules.FromJson(json));

        Assert.Contains(what, ex.Message, StringComparison.Ordinal);
    }
}
