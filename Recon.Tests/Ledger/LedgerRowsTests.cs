using Recon.Core.Ledger;

namespace Recon.Tests.Ledger;

/// <summary>The three shapes of ledger input: every bad row is refused naming where, which field and why.</summary>
public sealed class LedgerRowsTests
{
    private const string Header = "id,account,amount_minor,currency,value_date,reference,counterparty,description";

    [Fact]
    public void ReadCsv_QuotedFieldsAndOptionalExternalRef_ReadsEveryEntryInMinorUnits()
    {
        var rows = LedgerRows.ReadCsv(new StringReader(Header + ",external_ref\nL1,stripe:main,-1050,EUR,2026-11-02,INV-1,\"Acme, Inc\",\"say \"\"hi\"\"\",ch_1\nL2,stripe:main,7,USD,2026-11-03,,,,\n"), "l.csv");
        Assert.Equal(2, rows.Count);
        Assert.Equal(-1050, rows[0].AmountMinor);
        Assert.Equal("Acme, Inc", rows[0].Counterparty);
        Assert.Equal("say \"hi\"", rows[0].Description);
        Assert.Equal("ch_1", rows[0].ExternalRef);
        Assert.Null(rows[1].Reference);
    }

    [Theory]
    [InlineData("L1,a,12.50,USD,2026-11-02,,,", "l.csv: line 2, field 'amount_minor': '12.50' is not an integer number of minor units")]
    [InlineData("L1,a,100,usd,2026-11-02,,,", "l.csv: line 2, field 'currency': 'usd' is not an ISO 4217 code (three upper-case letters)")]
    [InlineData("L1,a,100,USD,02/11/2026,,,", "l.csv: line 2, field 'value_date': '02/11/2026' is not a date (YYYY-MM-DD)")]
    [InlineData(",a,100,USD,2026-11-02,,,", "l.csv: line 2, field 'id': missing or empty")]
    [InlineData("L1,a,100,USD,2026-11-02,,", "l.csv: line 2: 7 fields where the header has 8")]
    public void ReadCsv_BadRow_NamesFileLineFieldAndReason(string row, string expected)
    {
        var ex = Assert.Throws<LedgerRowException>(() => LedgerRows.ReadCsv(new StringReader(Header + "\n" + row + "\n"), "l.csv"));
        Assert.Equal(expected, ex.Message);
    }

    [Fact]
    public void ReadCsv_IdTwice_RefusesTheSecondNamingTheFirst()
    {
        var ex = Assert.Throws<LedgerRowException>(() => LedgerRows.ReadCsv(new StringReader($"{Header}\nL1,a,1,USD,2026-11-02,,,\nL2,a,1,USD,2026-11-02,,,\nL1,a,2,USD,2026-11-02,,,\n"), "l.csv"));
        Assert.Equal("line 4", ex.Where);
        Assert.Equal("id", ex.Field);
        Assert.Contains("first at line 2", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadJson_ArrayAndNdjson_ReadTheSameEntries()
    {
        var array = LedgerRows.ReadJson("""[{"id":"L1","account":"a","amountMinor":-5,"currency":"USD","valueDate":"2026-11-02","reference":"R"}]""", "body");
        var nd = LedgerRows.ReadJson("\n{\"id\":\"L1\",\"account\":\"a\",\"amountMinor\":-5,\"currency\":\"USD\",\"valueDate\":\"2026-11-02\",\"reference\":\"R\"}\r\n\n", "body");
        Assert.Equal(array, nd);
        Assert.Equal(LedgerRows.ReadJson(LedgerRows.ToNdjson(array), "body"), array);
    }

    [Theory]
    [InlineData("""[{"id":"L1","account":"a","amountMinor":1.5,"currency":"USD","valueDate":"2026-11-02"}]""", "entry 1, field 'amountMinor': '1.5' is not an integer number of minor units")]
    [InlineData("""[{"id":"L1","account":"a","amountMinor":"15","currency":"USD","valueDate":"2026-11-02"}]""", "entry 1, field 'amountMinor': not an integer number of minor units")]
    [InlineData("""[{"id":"L1","account":"a","amountMinor":1,"currency":"USD","valueDate":"2026-11-02"},{"id":"L2","amount":1}]""", "entry 2, field 'amount': unknown field (expected id, account, amountMinor, currency, valueDate, reference, externalRef, counterparty, description)")]
    [InlineData("{\"id\":\"L1\",\"account\":\"a\",\"amountMinor\":1,\"currency\":\"USD\",\"valueDate\":\"2026-11-02\"}\n{\"id\":\"L2\",", "line 2: not a JSON object (")]
    [InlineData("[1]", "entry 1: a ledger entry is a JSON object, not number")]
    [InlineData("   ", "line 1: no entries (expected a JSON array or NDJSON, one entry per line)")]
    public void ReadJson_BadEntry_NamesWhereFieldAndReason(string text, string expected)
    {
        var ex = Assert.Throws<LedgerRowException>(() => LedgerRows.ReadJson(text, "body"));
        Assert.StartsWith(expected, ex.Detail, StringComparison.Ordinal);
    }
}
