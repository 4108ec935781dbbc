using FsCheck.Xunit;
using Recon.Core.Domain;
using Recon.Core.Matching;

namespace Recon.Tests.Matching;

/// <summary>
/// Invariants over adversarial inputs: values drawn from tiny pools (a handful of amounts, references, dates and ids)
/// so that ties, shared keys, groups, duplicates and currency clashes happen in almost every case. FsCheck supplies
/// the seed and shrinks it.
/// </summary>
public sealed class MatchPropertyTests
{
    private static readonly MatchRules Rules = new()
    {
        AmountToleranceMinor = 5,
        AmountToleranceBasisPoints = 20,
        DateWindowDays = 2,
        Conversions = [new CurrencyConversion { From = "EUR", To = "USD", RateMicros = 1_100_000, ToleranceBasisPoints = 30 }],
    };

    internal static (List<ProviderTransaction> Tx, List<LedgerEntry> Ledger) Adversarial(int seed)
    {
        var rng = new Random(seed);
        string[] refs = ["INV-AAAA01", "INV-AAAA02", "INV-AAAB01", "PO-000001", "E2E-XYZ001", "E2E-XYZ002"];
        long[] amounts = [1_000, 1_003, 2_000, 3_000, 5_000, -1_000, 2_500];
        string[] currencies = ["USD", "USD", "USD", "EUR"];
        var day0 = new DateOnly(2026, 3, 6); // a Friday: windows cross a weekend
        // payers and bank descriptions from tiny pools too, so counterparty and uniqueness evidence decide often
        string[] payers = ["Hooli Inc.", "Globex LLC", "Hooli", "Initech GmbH"];
        string[] descriptions = ["HOOLI PAYMENT", "PAYMENT FROM GLOBEX", "INITECH", "TRANSFER"];
        string? Maybe(string[] pool) => rng.Next(3) == 0 ? null : pool[rng.Next(pool.Length)];

        var ledger = new List<LedgerEntry>();
        var nLedger = rng.Next(0, 25);
        for (var i = 0; i < nLedger; i++)
        {
            ledger.Add(new LedgerEntry($"L{i:D3}", "acc", amounts[rng.Next(amounts.Length)], currencies[rng.Next(currencies.Length)],
                day0.AddDays(rng.Next(-2, 4)), Maybe(refs), rng.Next(4) == 0 ? $"tx{rng.Next(8)}" : null, Maybe(payers), null));
        }
        var tx = new List<ProviderTransaction>();
        var nTx = rng.Next(0, 25);
        for (var i = 0; i < nTx; i++)
        {
            if (tx.Count > 0 && rng.Next(8) == 0)
            {
                tx.Add(tx[rng.Next(tx.Count)]); // the same transaction delivered twice
                continue;
            }
            var amount = amounts[rng.Next(amounts.Length)];
            tx.Add(new ProviderTransaction(rng.Next(2) == 0 ? Providers.BankA : Providers.Stripe, $"tx{i}", "acc", amount,
                rng.Next(4) == 0 ? 30 : 0, currencies[rng.Next(currencies.Length)], null, day0.AddDays(rng.Next(-2, 4)),
                Maybe(refs), Maybe(refs), Maybe(descriptions), rng.Next(5) == 0 ? "PO-000001" : null));
        }
        return (tx, ledger);
    }

    [Property(MaxTest = 300)]
    public bool Match_AnyInput_EachTransactionAndLedgerEntryUsedAtMostOnce(int seed)
    {
        var (tx, ledger) = Adversarial(seed);

        var run = new Matcher(Rules).Match(tx, ledger);

        var used = run.Results.Where(r => r.Outcome is MatchOutcome.Matched or MatchOutcome.Proposed).ToList();
        // the members of an N:1 group share their one ledger entry: a use is per group, not per member
        var uses = used.GroupBy(r => r.GroupKey ?? $"{r.Provider}|{r.ProviderTxId}").Select(g => g.First()).ToList();
        var ledgerUses = uses.SelectMany(r => r.LedgerIds).GroupBy(id => id).All(g => g.Count() == 1);
        var txUses = used.GroupBy(r => (r.Provider, r.ProviderTxId)).All(g => g.Count() == 1);
        var unmatchedDisjoint = !uses.SelectMany(r => r.LedgerIds).Intersect(run.UnmatchedLedgerIds).Any();
        var everyLedgerAccounted = uses.SelectMany(r => r.LedgerIds).Concat(run.UnmatchedLedgerIds).Order().SequenceEqual(ledger.Select(l => l.Id).Order());
        return run.Results.Count == tx.Count && ledgerUses && txUses && unmatchedDisjoint && everyLedgerAccounted;
    }

    [Property(MaxTest = 300)]
    public bool Match_ShuffledInput_SameResults(int seed)
    {
        var (tx, ledger) = Adversarial(seed);
        var rng = new Random(seed ^ 0x5eed);
        var tx2 = tx.OrderBy(_ => rng.Next()).ToList();
        var ledger2 = ledger.OrderBy(_ => rng.Next()).ToList();
        var matcher = new Matcher(Rules);

        var a = matcher.Match(tx, ledger);
        var b = matcher.Match(tx2, ledger2);

        return Canonical(a).SequenceEqual(Canonical(b)) && a.UnmatchedLedgerIds.SequenceEqual(b.UnmatchedLedgerIds);
    }

    [Property(MaxTest = 300)]
    public bool Match_AnyInput_NeverMatchedOutsideItsRuleTolerances(int seed)
    {
        var (tx, ledger) = Adversarial(seed);
        var byId = ledger.ToDictionary(l => l.Id);
        var txById = tx.GroupBy(t => (t.Provider, t.ProviderTxId)).ToDictionary(g => g.Key, g => g.First());

        var run = new Matcher(Rules).Match(tx, ledger);

        foreach (var r in run.Results.Where(r => r.Outcome == MatchOutcome.Matched))
        {
            var t = txById[(r.Provider, r.ProviderTxId)];
            var net = r.Rule.Contains(MatchRuleNames.NetSuffix, StringComparison.Ordinal);
            // a 1:1 or N:1 match has every entry in the window; a 1:N group (a payout) at least its nearest entry
            var days = r.LedgerIds.Select(id => MatchScoring.DayDistance(t.ValueDate, byId[id].ValueDate, Rules.BusinessDays)).ToList();
            if ((r.Rule.StartsWith(MatchRuleNames.GroupOneToMany, StringComparison.Ordinal) ? days.Min() : days.Max()) > Rules.DateWindowDays)
            {
                return false;
            }
            foreach (var id in r.LedgerIds)
            {
                var l = byId[id];
                if (r.GroupKey is null)
                {
                    var fx = r.Rule.Contains(MatchRuleNames.ConvertedSuffix, StringComparison.Ordinal);
                    if (!fx && t.Currency != l.Currency)
                    {
                        return false;
                    }
                    var amount = net ? t.NetMinor : t.AmountMinor;
                    var conv = Rules.Conversions[0];
                    var compared = fx ? conv.Convert(amount, t.Currency) : amount;
                    var tol = fx ? l.AmountMinor * conv.ToleranceBasisPoints / 10_000 : Rules.ToleranceFor(l.AmountMinor);
                    if (Math.Abs(compared - l.AmountMinor) > Math.Abs(tol) || compared - l.AmountMinor != r.DifferenceMinor)
                    {
                        return false;
                    }
                }
            }
            if (r.GroupKey is not null && Math.Abs(r.DifferenceMinor) > Rules.ToleranceFor(r.LedgerIds.Sum(id => byId[id].AmountMinor)))
            {
                return false;
            }
        }
        return true;
    }

    [Property(MaxTest = 300)]
    public bool Match_Groups_SumOfMembersMinusSumOfLedgerIsTheReportedDifference(int seed)
    {
        var (tx, ledger) = Adversarial(seed);
        // add a payout deposit with three receipts and a partial-payment pair, so most cases hold a group
        var day = new DateOnly(2026, 3, 6);
        ledger.Add(new LedgerEntry("G1", "acc", 700, "USD", day, "PAYOUT-77", null, null, null));
        ledger.Add(new LedgerEntry("G2", "acc", 400, "USD", day, "PAYOUT-77", null, null, null));
        ledger.Add(new LedgerEntry("G3", "acc", -60, "USD", day, "PAYOUT-77", null, null, null));
        ledger.Add(new LedgerEntry("N1", "acc", 9_000, "USD", day, "INV-PARTS9", null, null, null));
        tx.Add(new ProviderTransaction(Providers.BankA, "dep1", "acc", 1_040, 0, "USD", null, day.AddDays(1), "PAYOUT-77", null, null, null));
        tx.Add(new ProviderTransaction(Providers.BankB, "p1", "acc", 4_000, 0, "USD", null, day, null, "INV-PARTS9", null, null));
        tx.Add(new ProviderTransaction(Providers.BankB, "p2", "acc", 5_000, 0, "USD", null, day.AddDays(1), null, "INV-PARTS9", null, null));
        var byId = ledger.ToDictionary(l => l.Id);
        var txById = tx.GroupBy(t => (t.Provider, t.ProviderTxId)).ToDictionary(g => g.Key, g => g.First());

        var run = new Matcher(Rules).Match(tx, ledger);

        var groups = run.Results.Where(r => r.GroupKey is not null && r.Outcome is MatchOutcome.Matched or MatchOutcome.Proposed)
            .GroupBy(r => r.GroupKey!).ToList();
        var formed = groups.Select(g => g.Key).ToHashSet();
        foreach (var g in groups)
        {
            var members = g.ToList();
            var ledgerIds = members.SelectMany(m => m.LedgerIds).Distinct().ToList();
            var net = members[0].Rule.Contains(MatchRuleNames.NetSuffix, StringComparison.Ordinal);
            var providerSum = members.Sum(m => net ? txById[(m.Provider, m.ProviderTxId)].NetMinor : txById[(m.Provider, m.ProviderTxId)].AmountMinor);
            var ledgerSum = ledgerIds.Sum(id => byId[id].AmountMinor);
            if (members.Any(m => m.DifferenceMinor != providerSum - ledgerSum))
            {
                return false;
            }
        }
        // the planted groups are found unless random items collide with them (then they are flagged, not matched)
        var planted = run.Results.Where(r => r.ProviderTxId is "dep1" or "p1" or "p2").ToList();
        return planted.All(r => r.GroupKey is not null || r.Outcome != MatchOutcome.Matched)
            && (formed.Contains("1n:PAYOUT-77") || planted.Any(r => r.ProviderTxId == "dep1" && r.Outcome != MatchOutcome.Matched));
    }

    [Property(MaxTest = 300)]
    public bool Match_TransactionsDeliveredAgain_SameVerdictsRepeatsOnlyDuplicates(int seed)
    {
        var (tx, ledger) = Adversarial(seed);
        var rng = new Random(seed ^ 0x7e1);
        // a re-sent page: some transactions arrive once more, anywhere in the input
        var again = tx.Concat(tx.Where(_ => rng.Next(3) == 0)).OrderBy(_ => rng.Next()).ToList();
        var matcher = new Matcher(Rules);

        var once = matcher.Match(tx, ledger);
        var twice = matcher.Match(again, ledger);

        // every id keeps the verdict it had; each extra copy is only reported as a duplicate of the provider transaction
        var extra = twice.Results.Where(r => r.Reason == nameof(MatchReason.DuplicateProviderTransaction)).ToList();
        var firstCopies = twice.Results.Where(r => r.Reason != nameof(MatchReason.DuplicateProviderTransaction)).ToList();
        var onceFirst = once.Results.Where(r => r.Reason != nameof(MatchReason.DuplicateProviderTransaction)).ToList();
        return Canonical(new MatchRun(firstCopies, [])).SequenceEqual(Canonical(new MatchRun(onceFirst, [])))
            && once.UnmatchedLedgerIds.SequenceEqual(twice.UnmatchedLedgerIds)
            && extra.Count == again.Count - onceFirst.Count
            && extra.All(r => r.Outcome == MatchOutcome.Duplicate && r.LedgerIds.Count == 0);
    }

    [Property(MaxTest = 300)]
    public bool Match_AnyInput_ScoreIsItsEvidenceCappedAndAmountDateAloneNeverConfirm(int seed)
    {
        var (tx, ledger) = Adversarial(seed);

        var run = new Matcher(Rules).Match(tx, ledger);

        return run.Results.Where(r => r.Outcome != MatchOutcome.Duplicate || r.Reason != nameof(MatchReason.DuplicateProviderTransaction)).All(r =>
            r.Score <= Math.Min(MatchScoring.MaxScore, r.Evidence.Sum)
            && (r.Outcome != MatchOutcome.Matched
                || (r.Score == Math.Min(MatchScoring.MaxScore, r.Evidence.Sum)
                    && r.Evidence.Key + r.Evidence.Counterparty + r.Evidence.Group > 0)));
    }

    private static List<string> Canonical(MatchRun run)
        => run.Results.Select(r => $"{r.Provider}|{r.ProviderTxId}|{string.Join(";", r.LedgerIds)}|{r.Outcome}|{r.Reason}|{r.Score}|{r.DifferenceMinor}|{r.Rule}|{r.GroupKey}|{r.Evidence}")
            .Order(StringComparer.Ordinal).ToList();
}
