using Recon.Core.Domain;
using Recon.Core.Matching;

namespace Recon.Tests.Matching;

/// <summary>The evidence beyond amount and date (issue #14): instalments, payer names, unique amounts, swapped characters.</summary>
public sealed class EvidenceTests
{
    private static readonly DateOnly Wed = new(2026, 3, 4);
    private static readonly Matcher Default = new(new MatchRules());

    private static ProviderTransaction Tx(string id, long amount, DateOnly date, string? e2e = null, string? bankRef = null, string? description = null) =>
        new(Providers.BankA, id, "acct", amount, 0, "USD", null, date, bankRef, e2e, description, null);

    private static LedgerEntry Led(string id, long amount, DateOnly date, string? reference = null, string? counterparty = null, string? description = null) =>
        new(id, "receivables", amount, "USD", date, reference, null, counterparty, description);

    private static MatchResult Only(MatchRun run, string txId) => Assert.Single(run.Results, r => r.ProviderTxId == txId);

    [Fact]
    public void Match_InstalmentsNamingOneInvoiceAddingUpExactlyTwoDaysLate_AllMatchedWithGroupEvidence()
    {
        // two business days late: key 620 + amount 250 + date 60 = 930 before; the exact sum is what confirms it
        var parts = new[] { Tx("a", 4_000, Wed.AddDays(2), e2e: "INV-77777"), Tx("b", 6_000, Wed.AddDays(2), e2e: "INV-77777") };

        var run = Default.Match(parts, [Led("L1", 10_000, Wed, reference: "INV-77777")]);

        Assert.All(run.Results, r =>
        {
            Assert.Equal((MatchOutcome.Matched, MatchRuleNames.GroupManyToOne), (r.Outcome, r.Rule));
            Assert.Equal(MatchScoring.GroupExactSum, r.Evidence.Group);
        });
    }

    [Fact]
    public void Match_InstalmentsShortOfTheInvoice_NoGroupEvidence()
    {
        var parts = new[] { Tx("a", 4_000, Wed.AddDays(2), e2e: "INV-77777"), Tx("b", 5_950, Wed.AddDays(2), e2e: "INV-77777") };

        var run = Default.Match(parts, [Led("L1", 10_000, Wed, reference: "INV-77777")]);

        Assert.All(run.Results, r => Assert.Equal(0, r.Evidence.Group));
    }

    [Fact]
    public void Match_NoReferenceUniqueAmountSameDayPayerNamed_MatchedWithCounterpartyAndUniqueness()
    {
        var ledger = new[] { Led("L1", 123_456, Wed, "INV-1", counterparty: "Hooli, Inc."), Led("L2", 99_000, Wed, "INV-2", counterparty: "Globex") };

        var run = Default.Match([Tx("t", 123_456, Wed, description: "HOOLI PAYMENT")], ledger);

        var r = Only(run, "t");
        Assert.Equal((MatchOutcome.Matched, MatchRuleNames.AmountDate, "L1"), (r.Outcome, r.Rule, r.LedgerIds.Single()));
        Assert.Equal(new MatchEvidence(0, 250, 100, MatchScoring.CounterpartyFull, MatchScoring.UniqueAmount, 0), r.Evidence);
    }

    [Fact]
    public void Match_NoReferencePayerNamedButAmountNotUnique_ProposedNeverMatched()
    {
        // a second entry of the same amount in the window (another customer): the name points at L1 but does not confirm
        var ledger = new[] { Led("L1", 123_456, Wed, "INV-1", counterparty: "Hooli Inc."), Led("L2", 123_456, Wed.AddDays(1), "INV-2", counterparty: "Globex") };

        var run = Default.Match([Tx("t", 123_456, Wed, description: "PAYMENT FROM HOOLI INC")], ledger);

        var r = Only(run, "t");
        Assert.Equal((MatchOutcome.Proposed, "L1", 0), (r.Outcome, r.LedgerIds.Single(), r.Evidence.Uniqueness));
    }

    [Fact]
    public void Match_NoReferenceUniqueAmountSameDayNoName_AmountAndDateAloneNeverConfirm()
    {
        var run = Default.Match([Tx("t", 123_456, Wed, description: "TRANSFER")], [Led("L1", 123_456, Wed, "INV-1", counterparty: "Hooli Inc.")]);

        var r = Only(run, "t");
        Assert.Equal((MatchOutcome.Proposed, MatchScoring.UniqueAmount, 0), (r.Outcome, r.Evidence.Uniqueness, r.Evidence.Counterparty));
        Assert.True(r.Score < 900);
    }

    [Fact]
    public void Match_NoReferencePayerNamedOneDayLate_ProposedNotMatched()
    {
        var run = Default.Match([Tx("t", 123_456, Wed.AddDays(1), description: "HOOLI PAYMENT")], [Led("L1", 123_456, Wed, "INV-1", counterparty: "Hooli")]);

        Assert.Equal(MatchOutcome.Proposed, Only(run, "t").Outcome);
    }

    [Fact]
    public void Match_TwoPaymentsDifferentIdsSameFactsNamingThePayer_NeverBothConfirmed()
    {
        var run = Default.Match([Tx("p1", 123_456, Wed, description: "HOOLI PAYMENT"), Tx("p2", 123_456, Wed, description: "HOOLI PAYMENT")],
            [Led("L1", 123_456, Wed, "INV-1", counterparty: "Hooli")]);

        Assert.All(run.Results, r => Assert.Equal((MatchOutcome.Duplicate, nameof(MatchReason.DuplicatePayment)), (r.Outcome, r.Reason)));
    }

    [Fact]
    public void Match_LongWireReferenceTwoCharactersSwappedShortOfAChargeDayLate_MatchedByTransposedRule()
    {
        // 25.00 short of 80,000.00 (inside 10 bps) and two days late: a swapped reference with a unique amount confirms
        var run = Default.Match([Tx("w", 7_997_500, Wed.AddDays(2), e2e: "WIRE-7KQ3PX9MZ2B4HN")],
            [Led("L1", 8_000_000, Wed, reference: "WIRE-7K3QPX9MZ2B4HN"), Led("L2", 5_000_000, Wed, reference: "WIRE-AAAAAAAAAAAAAA")]);

        var r = Only(run, "w");
        Assert.Equal((MatchOutcome.Matched, MatchRuleNames.ReferenceTransposed, "L1"), (r.Outcome, r.Rule, r.LedgerIds.Single()));
        Assert.Equal(MatchScoring.KeyTransposed, r.Evidence.Key);
    }

    [Fact]
    public void Match_SwappedReferenceButAnotherEntryOfThatAmountInTheWindow_NotConfirmedWithoutUniqueness()
    {
        // two days late and 25.00 short (610 + 222 + 60 = 892): without a unique amount the swapped key is not enough
        var run = Default.Match([Tx("w", 7_997_500, Wed.AddDays(2), e2e: "WIRE-7KQ3PX9MZ2B4HN")],
            [Led("L1", 8_000_000, Wed, reference: "WIRE-7K3QPX9MZ2B4HN"), Led("L2", 7_999_000, Wed, reference: "WIRE-BBBBBBBBBBBBBB")]);

        var r = Only(run, "w");
        Assert.NotEqual(MatchOutcome.Matched, r.Outcome);
        Assert.Equal(0, r.Evidence.Uniqueness);
    }

    [Theory]
    [InlineData("Hooli, Inc.", "HOOLI PAYMENT", 350)]
    [InlineData("Stark Industries LLC", "PAYMENT FROM STARK INDUSTRIES", 350)]
    [InlineData("Stark Industries LLC", "STARK PAYMENT", 175)]
    [InlineData("Acme Corp.", "ACNE PAYMENT", 0)]
    [InlineData("Wayne Enterprises", "WAYNE ENTERPRISE", 350)]
    [InlineData("Globex S.A.", "TRANSFER", 0)]
    public void CounterpartyScore_NormalisedNames_CaseSuffixesAndPunctuationIgnored(string name, string description, int expected)
        => Assert.Equal(expected, CounterpartyNames.Score(CounterpartyNames.Tokens(name), CounterpartyNames.Tokens(description), MatchScoring.CounterpartyFull));

    [Theory]
    [InlineData("WIRE-7K3QPX9MZ2", "WIRE-7KQ3PX9MZ2", true)]
    [InlineData("WIRE-7K3QPX9MZ2", "WIRE-7K3QPX9MZ3", false)]
    [InlineData("WIRE-7K3QPX9MZ2", "WIRE-7K3QPX9MZ2", false)]
    [InlineData("WIRE-7K3QPX9MZ2", "WIRE-K73QPX9M2Z", false)]
    public void IsTransposition_OnlyOneAdjacentSwap(string a, string b, bool expected)
        => Assert.Equal(expected, MatchScoring.IsTransposition(a, b));

    [Fact]
    public void WriteResults_EveryVerdictCarriesItsEvidenceColumns()
    {
        var run = Default.Match([Tx("t", 123_456, Wed, description: "HOOLI PAYMENT")], [Led("L1", 123_456, Wed, "INV-1", counterparty: "Hooli")]);
        var w = new StringWriter();

        MatchFiles.WriteResults(w, run.Results);

        var lines = w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("provider,provider_tx_id,ledger_ids,outcome,score,difference_minor,rule,reason,score_key,score_amount,score_date,score_counterparty,score_uniqueness,score_group", lines[0]);
        Assert.Equal("bank_a,t,L1,matched,900,0,amount_date,Matched,0,250,100,350,200,0", lines[1]);
    }

    [Theory]
    [InlineData(60_000, 4)]
    [InlineData(41_000, 9)]
    public void Match_TwoThreads_SameVerdictsAsOneThread(int size, int seed)
    {
        var scenario = MatchScenarioGenerator.Generate(size, seed);

        var one = new Matcher(new MatchRules(), threads: 1).Match(scenario.Transactions, scenario.Ledger);
        var two = new Matcher(new MatchRules(), threads: 2).Match(scenario.Transactions, scenario.Ledger);

        static IEnumerable<string> Lines(MatchRun run) => run.Results.Select(r =>
            $"{r.Provider}|{r.ProviderTxId}|{string.Join(";", r.LedgerIds)}|{r.Outcome}|{r.Reason}|{r.Score}|{r.DifferenceMinor}|{r.Rule}|{r.GroupKey}|{r.Evidence}");
        Assert.Equal(Lines(one), Lines(two));
        Assert.Equal(one.UnmatchedLedgerIds, two.UnmatchedLedgerIds);
    }

    [Fact]
    public void Evaluate_ByKind_CountsEachKindApartAndARepeatedTruthRowDoesNotHideThePair()
    {
        var scenario = MatchScenarioGenerator.Generate(5_000, 11);
        // a re-delivery written twice into a truth file: the repeat row pairs nothing
        var truth = scenario.Truth.Concat(scenario.Truth.Where(t => t.Kind == MatchScenarioGenerator.Kinds.Redelivered).Select(t => t with { LedgerIds = [] })).ToList();

        var eval = MatchEvaluation.Evaluate(Default.Match(scenario.Transactions, scenario.Ledger), truth);

        Assert.Equal(eval.TruthPairs, eval.ByKind.Sum(k => k.TruthPairs));
        Assert.Equal(eval.CorrectMatched, eval.ByKind.Sum(k => k.CorrectMatched));
        Assert.Contains(eval.ByKind, k => k.Kind == MatchScenarioGenerator.Kinds.Redelivered && k.CorrectMatched > 0);
        Assert.Contains(eval.ByKind, k => k.Kind == MatchScenarioGenerator.Kinds.NoReference && k.CorrectMatched > 0);
    }
}
