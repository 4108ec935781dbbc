using Recon.Core.Domain;
using Recon.Core.Ingestion.Bai2;
using Recon.Core.Ingestion.Statements;
using Xunit;

namespace Recon.Tests.Ingestion.Statements;

public sealed class Bai2ParserTests
{
    // 49 = 10000 + 10000 + 1250 + 700 = 21950 over 5 records (03, 16, 88, 16, 49); 98 over 7; 99 over 9
    private const string Valid = """
        01,SENDER,RECEIVER,240105,0800,F7,,,2/
        02,RECEIVER,SENDER,1,240104,2400,USD,2/
        03,123456,USD,010,10000,,,015,10000,,/
        16,195,1250,V,240103,,WIRE123,E2E-1,INCOMING WIRE
        88,INVOICE 42
        16,475,700,Z,,,CHECK PAID/
        49,21950,5/
        98,21950,1,7/
        99,21950,1,9/
        """;

    [Fact]
    public void Parse_ValidFile_ReadsDetailsWithSignsDatesAndReferences()
    {
        var file = Bai2Parser.Parse(Valid);

        var statement = Assert.Single(file.Statements);
        Assert.Equal(("123456", "USD", 10000L, 10000L), (statement.Account, statement.Currency, statement.OpeningMinor!.Value, statement.ClosingMinor!.Value));
        Assert.Equal(new DateOnly(2024, 1, 4), statement.StatementDate);
        var wire = statement.Transactions[0];
        Assert.Equal(1250, wire.AmountMinor);
        Assert.Equal(new DateOnly(2024, 1, 3), wire.ValueDate);
        Assert.Equal(new DateOnly(2024, 1, 4), wire.BookingDate);
        Assert.Equal(("WIRE123", "E2E-1", "INCOMING WIRE INVOICE 42"), (wire.BankReference, wire.EndToEndId, wire.Remittance));
        Assert.Equal("123456/WIRE123", wire.ProviderTxId);
        var check = statement.Transactions[1];
        Assert.Equal(-700, check.AmountMinor);
        Assert.Equal(new DateOnly(2024, 1, 4), check.ValueDate);
        Assert.Equal("123456/20240104/1", check.ProviderTxId);
        Assert.Equal(Providers.BankA, check.Provider);
    }

    [Fact]
    public void Parse_SameFileTwice_GivesSameProviderTxIds()
    {
        var first = Bai2Parser.Parse(Valid).Statements.SelectMany(s => s.Transactions).Select(t => t.ProviderTxId);
        var second = Bai2Parser.Parse(Valid).Statements.SelectMany(s => s.Transactions).Select(t => t.ProviderTxId);

        Assert.Equal(first, second);
    }

    [Theory]
    [InlineData("49,21950,5/", "49,21951,5/", 7, "account control total")]
    [InlineData("49,21950,5/", "49,21950,6/", 7, "number of records")]
    [InlineData("98,21950,1,7/", "98,21950,1,8/", 8, "number of records")]
    [InlineData("99,21950,1,9/", "99,99,1,9/", 9, "file control total")]
    public void Parse_WrongControlTotalOrCount_ThrowsNamingLineAndField(string from, string to, int line, string field)
    {
        var ex = Assert.Throws<StatementFormatException>(() => Bai2Parser.Parse(Valid.Replace(from, to, StringComparison.Ordinal)));

        Assert.Equal(line, ex.Line);
        Assert.Equal(field, ex.Field);
        Assert.Contains($"line {line}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WrongControlTotalWithVerificationOff_Parses()
    {
        var text = Valid.Replace("49,21950,5/", "49,1,5/", StringComparison.Ordinal);

        var file = Bai2Parser.Parse(text, Providers.BankA, new Bai2ParseOptions(VerifyControlTotals: false));

        Assert.Equal(2, file.Statements[0].Transactions.Count);
    }

    [Fact]
    public void Parse_TruncatedFile_ThrowsSayingWhatIsMissing()
    {
        var truncated = string.Join("\n", Valid.Split('\n').Take(6));

        var ex = Assert.Throws<StatementFormatException>(() => Bai2Parser.Parse(truncated));

        Assert.Contains("49 account trailer", ex.Reason, StringComparison.Ordinal);
        Assert.Contains("truncated", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DetailCutBeforeAmount_ThrowsNamingAmount()
    {
        var ex = Assert.Throws<StatementFormatException>(() => Bai2Parser.Parse(Valid.Replace("16,475,700,Z,,,CHECK PAID/", "16,475/", StringComparison.Ordinal)));

        Assert.Equal((6, "amount"), (ex.Line, ex.Field));
    }

    [Fact]
    public void Parse_UnknownRecordType_ThrowsNamingLine()
    {
        var ex = Assert.Throws<StatementFormatException>(() => Bai2Parser.Parse(Valid.Replace("16,475,700", "17,475,700", StringComparison.Ordinal)));

        Assert.Equal(6, ex.Line);
        Assert.Contains("unknown record type '17'", ex.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("16,195,1250,V,240103", "16,195,12.50,V,240103", "amount")]
    [InlineData("16,195,1250,V,240103", "16,195,1250,V,241303", "value date")]
    [InlineData("16,195,1250,V,240103", "16,195,1250,Q,240103", "funds type")]
    [InlineData("16,195,1250,V,240103", "16,795,1250,V,240103", "type code")]
    [InlineData("03,123456,USD", "03,123456,US1", "currency code")]
    public void Parse_BadField_ThrowsNamingField(string from, string to, string field)
    {
        var ex = Assert.Throws<StatementFormatException>(() => Bai2Parser.Parse(Valid.Replace(from, to, StringComparison.Ordinal)));

        Assert.Equal(field, ex.Field);
        Assert.NotNull(ex.Line);
    }

    [Fact]
    public void Parse_StrayTextLineAfterClosedRecord_Throws()
    {
        var ex = Assert.Throws<StatementFormatException>(() => Bai2Parser.Parse(Valid.Replace("49,21950,5/", "49,21950,5/\ngarbage", StringComparison.Ordinal)));

        Assert.Equal(8, ex.Line);
    }
}
