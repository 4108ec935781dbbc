using Recon.Core.Domain;
using Recon.Core.Matching;
using Recon.Core.Pipeline;

namespace Recon.Sandbox.Scenarios;

/// <summary>The reconciliation requests that cover a generated scenario: one per provider account, over every day
/// the scenario can touch.</summary>
public static class ScenarioRequests
{
    /// <summary>The Stripe account label requests use (the sandbox serves one account).</summary>
    public const string StripeAccount = "acct_sandbox";

    /// <summary>Days after the scenario's span that still carry its events: payouts are created 2 days after their
    /// charges and arrive a day later, refunds come up to 4 days after the sale and are paid out 2 + 1 days after that.</summary>
    public const int TrailingDays = 8;

    /// <param name="scenario">The scenario loaded into the sandbox and ledger.</param>
    /// <param name="start">The scenario's first day (the generator's default when null).</param>
    /// <param name="pageSize">Objects per provider page.</param>
    /// <param name="runPrefix">Run ids are <c>{runPrefix}-{provider}</c>; a fresh prefix gives a fresh run.</param>
    public static IReadOnlyList<ReconciliationRequest> For(Scenario scenario, DateOnly? start, int pageSize, string runPrefix)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        var from = start ?? new DateOnly(2025, 6, 2);
        var to = from.AddDays(ScenarioGenerator.SpanDays - 1 + TrailingDays);
        string Run(string provider) => $"{runPrefix}-{provider.Replace('_', '-')}";
        return
        [
            new ReconciliationRequest(Providers.Stripe, StripeAccount, from, to, PageSize: pageSize, RunId: Run(Providers.Stripe)),
            new ReconciliationRequest(Providers.Plaid, scenario.PlaidAccessToken, from, to, PageSize: pageSize, RunId: Run(Providers.Plaid)),
            new ReconciliationRequest(Providers.BankA, ScenarioGenerator.BankAAccount, from, to, PageSize: pageSize, RunId: Run(Providers.BankA)),
            new ReconciliationRequest(Providers.BankB, ScenarioGenerator.BankBAccount, from, to, PageSize: pageSize, RunId: Run(Providers.BankB)),
        ];
    }

    /// <summary>The scenario's truth in the matcher's terms.</summary>
    public static IReadOnlyList<MatchTruth> Truth(Scenario scenario)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        return scenario.Truth.Select(t => new MatchTruth(t.Provider, t.ProviderTxId, t.LedgerIds)).ToList();
    }
}
