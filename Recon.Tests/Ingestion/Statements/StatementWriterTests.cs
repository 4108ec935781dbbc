using Recon.Core.Domain;
using Recon.Core.Ingestion.Bai2;
using Recon.Core.Ingestion.Camt053;
using Recon.Core.Ingestion.Statements;
using Xunit;

namespace Recon.Tests.Ingestion.Statements;

/// <summary>What the sandbox writes, the parsers read back unchanged.</summary>
public sealed class StatementWriterTests
{
    private static readonly DateOnly Day = new(2024, 3, 1);

    private static List<BankStatement> Scenario(string account, string currency, string provider) =>
    [
        new(account, currency, -12345, 987654, Day, null,
        [
            Tx(provider, account, 5_000_000_00, currency, Day, "WIRE-1", "E2E-WIRE", "INVOICE 2024-17"),
            Tx(provider, account, -50, currency, Day.AddDays(-1), "FEE-9", null, "fee/charge/"),
            Tx(provider, account, 1, currency, Day, null, "E2E-ONE", null),
        ]),
        new(account, currency, 0, null, Day.AddDays(1), null, []),
    ];

    private static ProviderTransaction Tx(string provider, string account, long amount, string currency, DateOnly valueDate, string? bankRef, string? e2e, string? remittance)
        => new(provider, "ignored", account, amount, 0, currency, Day, valueDate, bankRef, e2e, remittance, null);

    [Fact]
    public void Bai2Writer_Scenario_RoundTripsThroughParser()
    {
        var statements = Scenario("99887766", "USD", Providers.BankA);

        var text = Bai2Writer.Write(statements, new DateTime(2024, 3, 2, 6, 0, 0), fileId: "77");
        var parsed = StatementParser.Parse(text);

        Assert.Equal(StatementFormats.Bai2, parsed.Format);
        AssertSame(statements, parsed.Statements);
    }

    [Fact]
    public void Camt053Writer_Scenario_RoundTripsThroughParser()
    {
        var statements = Scenario("GB33BUKB20201555555555", "JPY", Providers.BankB);

        var text = Camt053Writer.Write(statements, "MSG-1", new DateTimeOffset(2024, 3, 2, 6, 0, 0, TimeSpan.Zero));
        var parsed = StatementParser.Parse(text);

        Assert.Equal(StatementFormats.Camt053, parsed.Format);
        AssertSame(statements, parsed.Statements);
    }

    [Fact]
    public void Bai2Writer_CommaInReference_IsRefused()
    {
        var statements = new List<BankStatement>
        {
            new("1", "USD", null, null, Day, null, [Tx(Providers.BankA, "1", 5, "USD", Day, "A,B", null, null)]),
        };

        Assert.Throws<ArgumentException>(() => Bai2Writer.Write(statements, new DateTime(2024, 3, 2)));
    }

    private static void AssertSame(List<BankStatement> expected, IReadOnlyList<BankStatement> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var (e, a) = (expected[i], actual[i]);
            Assert.Equal((e.Account, e.Currency, e.OpeningMinor, e.ClosingMinor, e.StatementDate), (a.Account, a.Currency, a.OpeningMinor, a.ClosingMinor, a.StatementDate));
            Assert.Equal(
                e.Transactions.Select(t => (t.Provider, t.AmountMinor, t.Currency, t.BookingDate, t.ValueDate, t.BankReference, t.EndToEndId, t.Remittance)),
                a.Transactions.Select(t => (t.Provider, t.AmountMinor, t.Currency, t.BookingDate, t.ValueDate, t.BankReference, t.EndToEndId, t.Remittance)));
            Assert.Equal(a.Transactions.Count, a.Transactions.Select(t => t.ProviderTxId).Distinct().Count());
        }
    }
}
