using Recon.Core.Pipeline;

namespace Recon.Tests.Pipeline;

public sealed class IngestTests
{
    private static readonly ReconciliationRequest Valid = new("stripe", "acct_1", new(2025, 3, 1), new(2025, 3, 3));

    [Fact]
    public void Validate_BadRequest_NamesEveryFieldAndReason()
    {
        var errors = ReconciliationRequests.Validate(new ReconciliationRequest("paypal", "", new(2025, 3, 5), new(2025, 3, 1), PageSize: 500));

        Assert.Contains(errors, e => e.StartsWith("provider:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("account:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("pageSize:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("to:", StringComparison.Ordinal));
    }

    [Fact]
    public void Plan_DateRange_OneFirstPagePerDayWithStableIds()
    {
        var pages = BatchPlanner.Pages(Valid);
        var runId = ReconciliationRequests.RunIdOf(Valid);

        Assert.Equal(3, pages.Count);
        Assert.All(pages, p => Assert.Null(p.Cursor));
        Assert.Equal(runId, ReconciliationRequests.RunIdOf(Valid with { }));
        Assert.Equal(BatchIds.For(runId, pages[0]), BatchIds.For(runId, BatchPlanner.Pages(Valid)[0]));
        Assert.Equal(3, pages.Select(p => BatchIds.For(runId, p)).Distinct().Count());
        Assert.NotEqual(BatchIds.For(runId, pages[0]), BatchIds.For("other-run", pages[0]));
    }

    [Fact]
    public void Plan_PayoutPaidEvent_OneBatchOnTheArrivalDay()
    {
        var request = new ReconciliationRequest("stripe", "acct_1", null, null, new ProviderEvent("payout.paid", "po_1", new(2025, 3, 2), 5_000_000, "USD"));

        Assert.Empty(ReconciliationRequests.Validate(request));
        var page = Assert.Single(BatchPlanner.Pages(request));
        Assert.Equal(new DateOnly(2025, 3, 2), page.From);
    }
}
