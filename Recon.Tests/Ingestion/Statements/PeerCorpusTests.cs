using System.Text.Json;
using Recon.Core.Domain;
using Recon.Core.Ingestion.Bai2;
using Recon.Core.Ingestion.Statements;
using Xunit;

namespace Recon.Tests.Ingestion.Statements;

/// <summary>
/// The second corpus (<c>TestData/bank-statements-peers</c>, facts established by independent peers): every valid file
/// parses to its facts, BTRS version 3 included; every malformed one is refused naming its line and field (or element).
/// </summary>
public sealed class PeerCorpusTests
{
    private static string Folder => Path.Combine(AppContext.BaseDirectory, "TestData", "bank-statements-peers");

    public static IEnumerable<object[]> Valid() => Entries().Where(e => !IsMalformed(e)).Select(e => new object[] { e.Str("file")! });

    public static IEnumerable<object[]> Malformed() => Entries().Where(IsMalformed).Select(e => new object[] { e.Str("file")! });

    [Theory]
    [MemberData(nameof(Valid))]
    public void Parse_ValidPeerFile_MatchesExpectedFacts(string file)
    {
        var (text, expected) = Load(file);

        var parsed = StatementParser.Parse(text);

        Assert.Equal(expected.Str("format"), parsed.Format);
        AssertFacts(expected, parsed, file);
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Parse_MalformedPeerFile_RefusedWithLineAndField(string file)
    {
        var (text, expected) = Load(file);

        // detected, as `recon parse FILE` does: a malformed file must be refused the same way without --format
        var ex = Assert.Throws<StatementFormatException>(() => StatementParser.Parse(text));
        Assert.Equal(ex.Message, Assert.Throws<StatementFormatException>(() => StatementParser.Parse(text, expected.Str("format"))).Message);

        Assert.True(ex.Line is not null || ex.Element is not null, $"{file}: no line or element in '{ex.Message}'");
        Assert.True(ex.Field is not null || ex.Element is not null, $"{file}: no field or element in '{ex.Message}'");
    }

    /// <summary>A BAI2 file whose only fault is its control totals or counts reads to the peers' facts once the
    /// totals are not verified: the checks refuse the file, they do not misread it.</summary>
    [Theory]
    [InlineData("bai2/moov-io-bai2_bai3-x9-continuation-16.txt")]
    [InlineData("bai2/moov-io-bai2_sample5-issue113.txt")]
    public void Parse_Bai2WithWrongTotals_LenientReadMatchesFacts(string file)
    {
        var (text, expected) = Load(file);

        var parsed = Bai2Parser.Parse(text, Providers.BankA, new Bai2ParseOptions(VerifyControlTotals: false));

        AssertFacts(expected, parsed, file);
    }

    [Fact]
    public void Parse_Btrs_VersionThreeAccepted()
    {
        var (text, _) = Load("bai2/moov-io-bai2_sample1-btrs.txt");
        Assert.StartsWith("01,", text, StringComparison.Ordinal);

        var parsed = Bai2Parser.Parse(text);

        Assert.Equal(3, parsed.Version);
    }

    [Fact]
    public void Parse_UnknownBaiVersion_RefusedNamingLineAndField()
    {
        var (text, _) = Load("bai2/moov-io-bai2_sample1-btrs.txt");
        var v4 = text.Replace(",80,1,3/", ",80,1,4/", StringComparison.Ordinal);
        Assert.NotEqual(text, v4);

        var ex = Assert.Throws<StatementFormatException>(() => Bai2Parser.Parse(v4));

        Assert.Equal((1, "version number"), (ex.Line, ex.Field));
        Assert.Contains("'4'", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BtrsWithWrongRecordCount_RefusedLikeBai2()
    {
        // the BTRS continuation sample's 49 counts 4 records where there are 5: version 3 gets the same strict checks
        var (text, _) = Load("bai2/moov-io-bai2_bai3-x9-continuation-16.txt");

        var ex = Assert.Throws<StatementFormatException>(() => Bai2Parser.Parse(text));

        Assert.NotNull(ex.Line);
        Assert.Equal("number of records", ex.Field);
    }

    [Fact]
    public void Parse_CamtBalanceInForeignCurrency_KeptWithCurrencyAndWarned()
    {
        var (text, _) = Load("camt053/genkgo-camt_camt053.v3.xml");

        var parsed = StatementParser.Parse(text);

        var s = Assert.Single(parsed.Statements);
        Assert.Equal("EUR", s.Currency);
        Assert.Null(s.ClosingMinor); // CLBD is 27.00 SEK: not an EUR closing
        var clbd = Assert.Single(s.OtherCurrencyBalances, b => b.Type == "CLBD");
        Assert.Equal(("SEK", -2700L), (clbd.Currency, clbd.AmountMinor));
        Assert.Equal(3, s.OtherCurrencyBalances.Count); // OPAV CHF, CLAV JPY besides
        Assert.Equal(3, parsed.Warnings.Count);
        Assert.Contains(parsed.Warnings, w => w.Contains("CLBD is in SEK", StringComparison.Ordinal));
        Assert.Equal(3, parsed.Version);
    }

    private static void AssertFacts(JsonElement expected, BankStatementFile parsed, string file)
    {
        var statements = expected.GetProperty("statements").EnumerateArray().ToList();
        Assert.Equal(statements.Count, parsed.Statements.Count);
        for (var i = 0; i < statements.Count; i++)
        {
            var e = statements[i];
            var s = parsed.Statements[i];
            var where = $"{file} statement {i}";
            if (e.Str("account") is { } account)
            {
                Assert.True(account == s.Account, $"{where}: account {s.Account}");
            }
            if (e.Str("statement_id") is { } id)
            {
                Assert.True(id == s.StatementId, $"{where}: statement id {s.StatementId}");
            }
            Assert.True(e.Str("currency") == s.Currency, $"{where}: currency {s.Currency}");
            Assert.True(e.Long("opening_minor") == s.OpeningMinor, $"{where}: opening {s.OpeningMinor}");
            Assert.True(e.Long("closing_minor") == s.ClosingMinor, $"{where}: closing {s.ClosingMinor}");
            // entries: a camt batch split into its details shares the entry's GroupId; a BAI2 16 is one entry
            var entries = parsed.Format == StatementFormats.Camt053
                ? s.Transactions.GroupBy(t => t.GroupId).Select(g => (g.First().Currency, Amount: g.Sum(t => t.AmountMinor))).ToList()
                : s.Transactions.Select(t => (t.Currency, Amount: t.AmountMinor)).ToList();
            Assert.True(e.Long("tx_count") == entries.Count, $"{where}: {entries.Count} entries");
            var credit = entries.Where(x => x.Amount > 0).Sum(x => x.Amount);
            var debit = -entries.Where(x => x.Amount < 0).Sum(x => x.Amount);
            Assert.True(e.Long("credit_sum_minor") == credit, $"{where}: credit sum {credit}");
            Assert.True(e.Long("debit_sum_minor") == debit, $"{where}: debit sum {debit}");
            if (e.TryGetProperty("by_currency", out var byCurrency))
            {
                foreach (var c in byCurrency.EnumerateObject())
                {
                    Assert.Equal(c.Value.Long("credit_sum_minor"), entries.Where(x => x.Currency == c.Name && x.Amount > 0).Sum(x => x.Amount));
                    Assert.Equal(c.Value.Long("debit_sum_minor"), -entries.Where(x => x.Currency == c.Name && x.Amount < 0).Sum(x => x.Amount));
                }
            }
        }
    }

    private static bool IsMalformed(JsonElement e) => e.TryGetProperty("malformed", out var m) && m.GetBoolean();

    private static List<JsonElement> Entries()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "expected.json")));
        return doc.RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
    }

    private static (string Text, JsonElement Expected) Load(string file)
        => (File.ReadAllText(Path.Combine(Folder, file)), Entries().Single(e => e.Str("file") == file));
}
