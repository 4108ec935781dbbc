using System.Text.Json;
using Recon.Core.Domain;
using Recon.Core.Ingestion.Bai2;
using Recon.Core.Ingestion.Statements;
using Xunit;

namespace Recon.Tests.Ingestion.Statements;

/// <summary>Every BAI2 file of the corpus parses to the facts in its expected.json.</summary>
public sealed class Bai2CorpusTests
{
    public static IEnumerable<object[]> Files() => CorpusFiles.Names("bai2");

    [Theory]
    [MemberData(nameof(Files))]
    public void Parse_CorpusFile_MatchesExpectedFacts(string file)
    {
        var (text, expected) = CorpusFiles.Load("bai2", file);
        var consistent = expected.GetProperty("control_totals_consistent").GetBoolean();
        if (!consistent)
        {
            // the strict parser must refuse a file whose checksums disagree, naming the first bad trailer
            var ex = Assert.Throws<StatementFormatException>(() => Bai2Parser.Parse(text));
            Assert.NotNull(ex.Line);
            Assert.Contains("control total", ex.Field, StringComparison.Ordinal);
        }
        var parsed = consistent ? Bai2Parser.Parse(text) : Bai2Parser.Parse(text, Providers.BankA, new Bai2ParseOptions(VerifyControlTotals: false));

        Assert.Equal(StatementFormats.Bai2, parsed.Format);
        var statements = expected.GetProperty("statements").EnumerateArray().ToList();
        Assert.Equal(expected.GetProperty("account_record_count").GetInt32(), parsed.Statements.Count);
        Assert.Equal(statements.Count, parsed.Statements.Count);
        Assert.Equal(expected.GetProperty("distinct_account_count").GetInt32(), parsed.Statements.Select(s => s.Account).Distinct().Count());
        for (var i = 0; i < statements.Count; i++)
        {
            AssertStatement(statements[i], parsed.Statements[i], $"{file} statement {i}");
        }
        var allIds = parsed.Statements.SelectMany(s => s.Transactions).Select(t => t.ProviderTxId).ToList();
        Assert.Equal(allIds.Count, allIds.Distinct().Count());
    }

    private static void AssertStatement(JsonElement e, BankStatement s, string where)
    {
        Assert.True(e.Str("account") == s.Account, $"{where}: account {s.Account}");
        Assert.Equal(e.Str("currency"), s.Currency);
        Assert.Equal(e.Date("as_of_date"), s.StatementDate);
        Assert.Equal(Balance(e, "opening_balance"), s.OpeningMinor);
        Assert.Equal(Balance(e, "closing_balance"), s.ClosingMinor);
        var tx = s.Transactions;
        Assert.Equal(e.Long("entry_count"), tx.Count);
        Assert.Equal(e.Long("credit_count"), tx.Count(t => t.AmountMinor > 0));
        Assert.Equal(e.Long("credit_sum_minor"), tx.Where(t => t.AmountMinor > 0).Sum(t => t.AmountMinor));
        Assert.Equal(e.Long("debit_count"), tx.Count(t => t.AmountMinor < 0));
        Assert.Equal(e.Long("debit_sum_minor"), -tx.Where(t => t.AmountMinor < 0).Sum(t => t.AmountMinor));
        Assert.All(tx, t => Assert.Equal(s.Currency, t.Currency));
        Assert.All(tx, t => Assert.Equal(s.StatementDate, t.BookingDate));

        foreach (var check in e.GetProperty("spot_checks").EnumerateArray())
        {
            var t = tx[check.GetProperty("detail_index").GetInt32()];
            var sign = check.Str("credit_debit") == "CRDT" ? 1 : -1;
            Assert.Equal(sign * check.Long("amount_minor"), t.AmountMinor);
            Assert.Equal(check.Date("value_date") ?? s.StatementDate, t.ValueDate);
            Assert.Equal(check.Str("bank_ref"), t.BankReference);
            Assert.Equal(check.Str("customer_ref"), t.EndToEndId);
            if (check.Str("text_starts_with") is { } text)
            {
                Assert.StartsWith(text, t.Remittance, StringComparison.Ordinal);
            }
            Assert.Equal(Providers.BankA, t.Provider);
            Assert.Contains(check.GetProperty("amount_minor").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture), JsonSerializer.Deserialize<string>(t.RawJson!), StringComparison.Ordinal);
        }
    }

    private static long? Balance(JsonElement e, string name)
        => e.TryGetProperty(name, out var b) && b.ValueKind == JsonValueKind.Object ? b.GetProperty("amount_minor").GetInt64() : null;
}
