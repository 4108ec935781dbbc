using System.Text.Json;
using Recon.Core.Domain;
using Recon.Core.Ingestion.Camt053;
using Recon.Core.Ingestion.Statements;
using Xunit;

namespace Recon.Tests.Ingestion.Statements;

/// <summary>Every camt.053 file of the corpus parses to the facts in its expected.json (entries = transactions grouped by GroupId).</summary>
public sealed class Camt053CorpusTests
{
    public static IEnumerable<object[]> Files() => CorpusFiles.Names("camt053");

    [Theory]
    [MemberData(nameof(Files))]
    public void Parse_CorpusFile_MatchesExpectedFacts(string file)
    {
        var (text, expected) = CorpusFiles.Load("camt053", file);

        var parsed = Camt053Parser.Parse(text);

        Assert.Equal(StatementFormats.Camt053, parsed.Format);
        var statements = expected.GetProperty("statements").EnumerateArray().ToList();
        Assert.Equal(expected.GetProperty("statement_count").GetInt32(), parsed.Statements.Count);
        for (var i = 0; i < statements.Count; i++)
        {
            AssertStatement(statements[i], parsed.Statements[i]);
        }
        var allIds = parsed.Statements.SelectMany(s => s.Transactions).Select(t => t.ProviderTxId).ToList();
        Assert.Equal(allIds.Count, allIds.Distinct().Count());
    }

    /// <summary>The reference inside an entry key <c>account/ref[#n][/rvsl]</c> (ABN AMRO reuses one AcctSvcrRef for several entries, hence #n).</summary>
    private static string EntryReference(string account, string groupId)
    {
        var reference = groupId[(account.Length + 1)..].Replace("/rvsl", "", StringComparison.Ordinal);
        var hash = reference.LastIndexOf('#');
        return hash < 0 ? reference : reference[..hash];
    }

    private static void AssertStatement(JsonElement e, BankStatement s)
    {
        Assert.Equal(e.Str("statement_id"), s.StatementId);
        Assert.Equal(e.Str("account"), s.Account);
        var opening = e.GetProperty("opening_balance");
        var closing = e.GetProperty("closing_balance");
        Assert.Equal(e.Str("account_currency") ?? opening.Str("currency"), s.Currency);
        Assert.Equal(opening.Long("amount_minor"), s.OpeningMinor);
        // a closing balance in another currency than the statement's is not comparable, so it is not reported
        Assert.Equal(closing.Str("currency") == s.Currency ? closing.Long("amount_minor") : null, s.ClosingMinor);

        // entries: consecutive transactions with the same GroupId (a split batch entry shares its entry's key)
        var entries = s.Transactions.GroupBy(t => t.GroupId).Select(g => g.ToList()).ToList();
        Assert.All(s.Transactions, t => Assert.NotNull(t.GroupId));
        Assert.Equal(e.Long("entry_count"), entries.Count);
        Assert.Equal(e.Long("credit_count"), entries.Count(x => x.Sum(t => t.AmountMinor) > 0));
        Assert.Equal(e.Long("debit_count"), entries.Count(x => x.Sum(t => t.AmountMinor) < 0));
        foreach (var byCurrency in e.GetProperty("credit_sum_minor_by_currency").EnumerateObject())
        {
            Assert.Equal(byCurrency.Value.GetInt64(), entries.Where(x => x[0].Currency == byCurrency.Name).Select(x => x.Sum(t => t.AmountMinor)).Where(a => a > 0).Sum());
        }
        foreach (var byCurrency in e.GetProperty("debit_sum_minor_by_currency").EnumerateObject())
        {
            Assert.Equal(byCurrency.Value.GetInt64(), -entries.Where(x => x[0].Currency == byCurrency.Name).Select(x => x.Sum(t => t.AmountMinor)).Where(a => a < 0).Sum());
        }
        Assert.Equal(e.Long("reversal_count"), entries.Count(x => x[0].ProviderTxId.Contains("/rvsl", StringComparison.Ordinal)));

        foreach (var check in e.GetProperty("spot_checks").EnumerateArray())
        {
            var entry = entries[check.GetProperty("entry_index").GetInt32()];
            var first = entry[0];
            var sign = check.Str("credit_debit") == "CRDT" ? 1 : -1;
            Assert.Equal(sign * check.Long("amount_minor"), entry.Sum(t => t.AmountMinor));
            Assert.Equal(check.Str("currency"), first.Currency);
            Assert.Equal(check.Date("booking_date"), first.BookingDate);
            Assert.Equal(check.Date("value_date"), first.ValueDate);
            Assert.Equal(check.GetProperty("reversal").GetBoolean(), first.ProviderTxId.Contains("/rvsl", StringComparison.Ordinal));
            Assert.Equal(ProviderTransactionStatus.Posted, first.Status); // every corpus entry is BOOK
            if (check.Str("acct_svcr_ref") is { } acctSvcrRef)
            {
                // a split batch entry keeps the entry's reference in its GroupId; each part carries its own TxDtls reference
                Assert.Equal(acctSvcrRef, entry.Count == 1 ? first.BankReference : EntryReference(s.Account, first.GroupId!));
            }
            if (check.TryGetProperty("tx_acct_svcr_refs", out var txRefs))
            {
                Assert.Equal(txRefs.EnumerateArray().Select(r => r.GetString()), entry.Select(t => t.BankReference));
            }
            if (check.TryGetProperty("end_to_end_ids", out var e2e))
            {
                // NOTPROVIDED is the scheme's "no end-to-end id" and is read as null
                var wanted = e2e.ValueKind == JsonValueKind.Array ? e2e.EnumerateArray().Select(x => x.GetString()).ToList() : [e2e.GetString()];
                var ids = wanted.Select(x => x == "NOTPROVIDED" ? null : x).Distinct().ToList();
                Assert.Equal(ids, entry.Select(t => t.EndToEndId).Distinct().ToList());
            }
            if (check.TryGetProperty("creditor_refs", out var creditorRefs))
            {
                foreach (var r in creditorRefs.EnumerateArray().Select(x => x.GetString()!).Distinct())
                {
                    Assert.Contains(entry, t => t.Remittance?.Contains(r, StringComparison.Ordinal) == true);
                }
            }
            Assert.Contains("Ntry", JsonSerializer.Deserialize<string>(first.RawJson!), StringComparison.Ordinal);
        }
    }
}
