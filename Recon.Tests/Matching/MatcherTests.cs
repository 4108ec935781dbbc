using Recon.Core.Domain;
using Recon.Core.Matching;

namespace Recon.Tests.Matching;

public sealed class MatcherTests
{
    private static readonly DateOnly Fri = new(2026, 3, 6);
    private static readonly Matcher Default = new(new MatchRules());

    private static ProviderTransaction Tx(string id, long amount, DateOnly date, string? e2e = null, string? bankRef = null,
        long fee = 0, string currency = "USD", string provider = Providers.BankA, string? group = null) =>
        new(provider, id, "acct", amount, fee, currency, null, date, bankRef, e2e, null, group);

    private static LedgerEntry Led(string id, long amount, DateOnly date, string? reference = null, string? externalRef = null, string currency = "USD") =>
        new(id, "acc", amount, currency, date, reference, externalRef, null, null);

    private static MatchResult Only(MatchRun run, string txId) => Assert.Single(run.Results, r => r.ProviderTxId == txId);

    [Fact]
    public void Match_MoreEntriesShareAKeyThanAreScored_SameVerdictInAnyInputOrder()
    {
        // 40 entries carry one reference (more than maxCandidatesPerKey = 32) and do not add up to the payment, so they
        // are scored one by one and only 32 of them are: which 32 must not depend on the order the ledger arrives in
        var ledger = Enumerable.Range(10, 40).Select(i => Led($"L{i}", 100_000 + (i * 10), Fri, reference: "INV-SHARED")).ToList();
        var tx = Tx("b1", 100_450, Fri, e2e: "INV-SHARED", provider: Providers.Plaid);

        var forward = Only(Default.Match([tx], ledger), "b1");
        var reversed = Only(Default.Match([tx], Enumerable.Reverse(ledger).ToList()), "b1");

        Assert.Equal(MatchOutcome.Matched, forward.Outcome);
        Assert.Equal((forward.LedgerIds.Single(), forward.Score, forward.Rule), (reversed.LedgerIds.Single(), reversed.Score, reversed.Rule));
    }

    [Fact]
    public void Match_ExternalRefExactAmountSameDay_MatchedWithFullScore()
    {
        var run = Default.Match([Tx("ch_1", 5_000, Fri, provider: Providers.Stripe)], [Led("L1", 5_000, Fri, externalRef: "ch_1")]);

        var r = Only(run, "ch_1");
        Assert.Equal((MatchOutcome.Matched, "Matched", 1000, 0L, MatchRuleNames.ExternalRef), (r.Outcome, r.Reason, r.Score, r.DifferenceMinor, r.Rule));
        Assert.Equal(["L1"], r.LedgerIds);
        Assert.Empty(run.UnmatchedLedgerIds);
    }

    [Fact]
    public void Match_LedgerReferenceHoldsTheProviderId_MatchedByExternalRefRule()
    {
        // the CSV ledger has no external_ref column: the charge id sits in reference
        var run = Default.Match([Tx("ch_3", 5_000, Fri, provider: Providers.Stripe)], [Led("L1", 5_000, Fri, reference: "ch_3")]);

        Assert.Equal((MatchOutcome.Matched, MatchRuleNames.ExternalRef), (Only(run, "ch_3").Outcome, Only(run, "ch_3").Rule));
    }

    [Fact]
    public void Match_SameIdAtTwoProviders_NotTreatedAsRepeats()
    {
        var run = Default.Match([Tx("123", 5_000, Fri, e2e: "INV-12345"), Tx("123", 7_000, Fri, e2e: "INV-67890", provider: Providers.Plaid)],
            [Led("L1", 5_000, Fri, reference: "INV-12345"), Led("L2", 7_000, Fri, reference: "INV-67890")]);

        Assert.All(run.Results, r => Assert.Equal(MatchOutcome.Matched, r.Outcome));
    }

    [Fact]
    public void Match_StripeChargeBookedNet_MatchesOnNetAmountWithNetRule()
    {
        // 2.9% + 30c of 10,000 is 320
        var run = Default.Match([Tx("ch_2", 10_000, Fri, fee: 320, provider: Providers.Stripe)], [Led("L1", 9_680, Fri, externalRef: "ch_2")]);

        var r = Only(run, "ch_2");
        Assert.Equal(MatchOutcome.Matched, r.Outcome);
        Assert.Equal(MatchRuleNames.ExternalRef + MatchRuleNames.NetSuffix, r.Rule);
        Assert.Equal(0, r.DifferenceMinor);
    }

    [Fact]
    public void Match_SaturdayBookingSettledMonday_OneBusinessDayLateStillMatched()
    {
        var sat = Fri.AddDays(1);
        var run = Default.Match([Tx("t", 80_000, sat.AddDays(2), e2e: "INV-12345")], [Led("L1", 80_000, sat, reference: "INV-12345")]);

        Assert.Equal(1, MatchScoring.DayDistance(sat, sat.AddDays(2), businessDays: true));
        Assert.Equal(MatchOutcome.Matched, Only(run, "t").Outcome);
    }

    [Fact]
    public void Match_KeyMatchesButAmountOutsideTolerance_ProposedWithReasonNeverMatched()
    {
        var run = Default.Match([Tx("t", 50_000, Fri, e2e: "INV-12345")], [Led("L1", 40_000, Fri, reference: "INV-12345")]);

        var r = Only(run, "t");
        Assert.Equal((MatchOutcome.Proposed, nameof(MatchReason.AmountOutsideTolerance), 10_000L), (r.Outcome, r.Reason, r.DifferenceMinor));
        Assert.True(r.Score < 900);
    }

    [Fact]
    public void Match_DifferentCurrencyWithoutConversion_NotMatchedReasonCurrencyMismatch()
    {
        var run = Default.Match([Tx("t", 5_000, Fri, e2e: "INV-12345", currency: "EUR")], [Led("L1", 5_000, Fri, reference: "INV-12345")]);

        var r = Only(run, "t");
        Assert.NotEqual(MatchOutcome.Matched, r.Outcome);
        Assert.Equal(nameof(MatchReason.CurrencyMismatch), r.Reason);
    }

    [Fact]
    public void Match_ConversionRuleWithinItsTolerance_MatchedOnConvertedAmount()
    {
        var rules = new MatchRules { Conversions = [new CurrencyConversion { From = "EUR", To = "USD", RateMicros = 1_085_000, ToleranceBasisPoints = 50 }] };
        // 100.00 EUR at 1.085 = 108.50 USD; the ledger expected 108.60 (9 bps off, inside 50)
        var run = new Matcher(rules).Match([Tx("t", 10_000, Fri, e2e: "INV-12345", currency: "EUR")], [Led("L1", 10_860, Fri, reference: "INV-12345")]);

        var r = Only(run, "t");
        Assert.Equal(MatchOutcome.Matched, r.Outcome);
        Assert.Equal(MatchRuleNames.EndToEndId + MatchRuleNames.ConvertedSuffix, r.Rule);
        Assert.Equal(-10, r.DifferenceMinor);
    }

    [Fact]
    public void Match_ReferenceWithOneTypo_MatchedByFuzzyRule()
    {
        var run = Default.Match([Tx("t", 123_456, Fri, bankRef: "INV-7K3PQ9")], [Led("L1", 123_456, Fri, reference: "INV-7K3PO9")]);

        var r = Only(run, "t");
        Assert.Equal((MatchOutcome.Matched, MatchRuleNames.ReferenceFuzzy), (r.Outcome, r.Rule));
    }

    [Fact]
    public void Match_AmountAndDateOnly_ProposedNeverMatched()
    {
        var run = Default.Match([Tx("t", 77_777, Fri)], [Led("L1", 77_777, Fri, reference: "SOMETHING-ELSE")]);

        var r = Only(run, "t");
        Assert.Equal((MatchOutcome.Proposed, MatchRuleNames.AmountDate), (r.Outcome, r.Rule));
    }

    [Fact]
    public void Match_TwoLedgerEntriesTieForOnePayment_AmbiguousListingBoth()
    {
        var run = Default.Match([Tx("t", 5_000, Fri, e2e: "INV-12345")],
            [Led("L2", 5_000, Fri, reference: "INV-12345"), Led("L1", 5_000, Fri, reference: "INV-12345")]);

        var r = Only(run, "t");
        Assert.Equal((MatchOutcome.Ambiguous, nameof(MatchReason.Ambiguous)), (r.Outcome, r.Reason));
        Assert.Equal(["L1", "L2"], r.LedgerIds);
        Assert.Equal(["L1", "L2"], run.UnmatchedLedgerIds);
    }

    [Fact]
    public void Match_TwoIdenticalPaymentsForOneInvoice_BothFlaggedDuplicateNoneMatched()
    {
        var run = Default.Match([Tx("p1", 5_000, Fri, e2e: "INV-12345"), Tx("p2", 5_000, Fri, e2e: "INV-12345")],
            [Led("L1", 5_000, Fri, reference: "INV-12345")]);

        Assert.All(run.Results, r => Assert.Equal((MatchOutcome.Duplicate, nameof(MatchReason.DuplicatePayment)), (r.Outcome, r.Reason)));
    }

    [Fact]
    public void Match_SameProviderTransactionTwice_OneMatchedOneDuplicate()
    {
        var t = Tx("t", 5_000, Fri, e2e: "INV-12345");

        var run = Default.Match([t, t], [Led("L1", 5_000, Fri, reference: "INV-12345")]);

        Assert.Equal([MatchOutcome.Matched, MatchOutcome.Duplicate], run.Results.Select(r => r.Outcome).Order());
        Assert.Contains(run.Results, r => r.Reason == nameof(MatchReason.DuplicateProviderTransaction) && r.LedgerIds.Count == 0);
    }

    [Fact]
    public void Match_HigherScoreWinsContestedEntry_LoserUnmatchedCandidateTaken()
    {
        // both name the invoice; only one has the exact amount
        var run = Default.Match([Tx("exact", 5_000, Fri, e2e: "INV-12345"), Tx("off", 5_050, Fri.AddDays(3), e2e: "INV-12345")],
            [Led("L1", 5_000, Fri, reference: "INV-12345")]);

        Assert.Equal(MatchOutcome.Matched, Only(run, "exact").Outcome);
        var loser = Only(run, "off");
        Assert.Equal((MatchOutcome.Unmatched, nameof(MatchReason.CandidateTaken)), (loser.Outcome, loser.Reason));
    }

    [Fact]
    public void Match_PayoutDepositAgainstReceiptsAndFeeEntry_OneToManyGroupWithAllEntries()
    {
        var ledger = new[] { Led("R1", 10_000, Fri, "po_ABCDEF"), Led("R2", 2_000, Fri.AddDays(-1), "po_ABCDEF"), Led("F", -378, Fri, "po_ABCDEF") };

        var run = Default.Match([Tx("dep", 11_622, Fri.AddDays(3), bankRef: "po_ABCDEF")], ledger);

        var r = Only(run, "dep");
        Assert.Equal((MatchOutcome.Matched, MatchRuleNames.GroupOneToMany, "1n:po_ABCDEF", 0L), (r.Outcome, r.Rule, r.GroupKey, r.DifferenceMinor));
        Assert.Equal(["F", "R1", "R2"], r.LedgerIds);
    }

    [Fact]
    public void Match_InvoicePaidInThreeParts_ManyToOneGroupEveryPartMatched()
    {
        var parts = new[] { Tx("a", 3_000, Fri, e2e: "INV-55555"), Tx("b", 3_000, Fri.AddDays(3), e2e: "INV-55555"), Tx("c", 4_000, Fri, e2e: "INV-55555") };

        var run = Default.Match(parts, [Led("L1", 10_000, Fri, reference: "INV-55555")]);

        Assert.All(run.Results, r =>
        {
            Assert.Equal((MatchOutcome.Matched, MatchRuleNames.GroupManyToOne, "n1:L1"), (r.Outcome, r.Rule, r.GroupKey));
            Assert.Equal(["L1"], r.LedgerIds);
        });
    }

    [Fact]
    public void Match_UnexplainedDepositEqualToTwoOpenEntries_AmountSumProposedNotMatched()
    {
        var run = Default.Match([Tx("dep", 15_000, Fri)], [Led("L1", 10_000, Fri, "A-111111"), Led("L2", 5_000, Fri, "B-222222"), Led("L3", 999, Fri, "C-333333")]);

        var r = Only(run, "dep");
        Assert.Equal((MatchOutcome.Proposed, MatchRuleNames.AmountSum), (r.Outcome, r.Rule));
        Assert.Equal(["L1", "L2"], r.LedgerIds);
    }

    [Fact]
    public void Match_NothingClose_UnmatchedNoCandidateWithWholeAmountAsDifference()
    {
        var run = Default.Match([Tx("t", 5_000, Fri, e2e: "INV-12345")], [Led("L1", 999_999, Fri.AddDays(20), reference: "OTHER-1")]);

        var r = Only(run, "t");
        Assert.Equal((MatchOutcome.Unmatched, nameof(MatchReason.NoCandidate), 5_000L, 0), (r.Outcome, r.Reason, r.DifferenceMinor, r.Score));
        Assert.Equal(["L1"], run.UnmatchedLedgerIds);
    }

    [Fact]
    public void Match_LedgerIdTwice_ThrowsNamingTheId()
    {
        var ex = Assert.Throws<ArgumentException>(() => Default.Match([], [Led("L1", 1, Fri), Led("L1", 2, Fri)]));

        Assert.Contains("'L1'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("INV-7K3PQ9", "INV-7K3PO9", true)]
    [InlineData("INV-7K3PQ9", "INV-K73PQ9", true)]
    [InlineData("INV-7K3PQ9", "INV-7K3PQ", true)]
    [InlineData("INV-7K3PQ9", "INV-7K3PQ9", false)]
    [InlineData("INV-7K3PQ9", "INV-7K3QP8", false)]
    public void WithinOneEdit_Pairs_OneSubstitutionSwapOrDeletionOnly(string a, string b, bool expected)
        => Assert.Equal(expected, MatchScoring.WithinOneEdit(a, b));
}
