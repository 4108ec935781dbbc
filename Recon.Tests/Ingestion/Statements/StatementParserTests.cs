using Recon.Core.Ingestion.Statements;
using Xunit;

namespace Recon.Tests.Ingestion.Statements;

public sealed class StatementParserTests
{
    [Theory]
    [InlineData("01,A,B,240101,0000,1,,,2/\n", StatementFormats.Bai2)]
    [InlineData("\uFEFF<?xml version=\"1.0\"?><Document/>", StatementFormats.Camt053)]
    [InlineData("\n  <Document/>", StatementFormats.Camt053)]
    public void DetectFormat_KnownStart_ReturnsFormat(string text, string format)
        => Assert.Equal(format, StatementParser.DetectFormat(text));

    [Fact]
    public void DetectFormat_Mt940_ThrowsNamingLine()
    {
        var ex = Assert.Throws<StatementFormatException>(() => StatementParser.DetectFormat("\n:20:STARTUMSE\n:25:10020030/1234567\n"));

        Assert.Equal(2, ex.Line);
        Assert.Contains(":20:STARTUMSE", ex.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("12.34", "EUR", 1234L)]
    [InlineData("12.3", "EUR", 1230L)]
    [InlineData("200.0000", "GBP", 20000L)]
    [InlineData("2700", "JPY", 2700L)]
    [InlineData("1.234", "KWD", 1234L)]
    [InlineData("92233720368547758.07", "USD", long.MaxValue)]
    public void TryParseDecimal_ValidText_ReturnsMinorUnits(string text, string currency, long minor)
    {
        Assert.Equal(minor, MinorUnits.TryParseDecimal(text, currency, out var error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("12.345", "EUR")]
    [InlineData("1.5", "JPY")]
    [InlineData("92233720368547758.08", "USD")]
    [InlineData("1e3", "USD")]
    [InlineData(".5", "USD")]
    [InlineData("5.", "USD")]
    public void TryParseDecimal_InvalidText_ReturnsNullWithError(string text, string currency)
    {
        Assert.Null(MinorUnits.TryParseDecimal(text, currency, out var error));
        Assert.Contains(text, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0L, "EUR", "0.00")]
    [InlineData(5L, "EUR", "0.05")]
    [InlineData(123456L, "EUR", "1234.56")]
    [InlineData(2700L, "JPY", "2700")]
    public void FormatDecimal_MinorUnits_WritesCurrencyDecimals(long minor, string currency, string text)
        => Assert.Equal(text, MinorUnits.FormatDecimal(minor, currency));
}
