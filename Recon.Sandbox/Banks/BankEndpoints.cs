using System.Globalization;
using Microsoft.AspNetCore.Http;
using Recon.Core.Ingestion.Bai2;
using Recon.Core.Ingestion.Camt053;

namespace Recon.Sandbox.Banks;

/// <summary>Bank A serves BAI2 files and bank B camt.053 XML: <c>GET /{bank}/v1/accounts/{account}/statements/{yyyy-MM-dd}</c>.</summary>
public static class BankEndpoints
{
    public static void MapBanks(this IEndpointRouteBuilder app)
    {
        foreach (var bank in new[] { BankStore.BankA, BankStore.BankB })
        {
            app.MapGet($"/{bank}/v1/accounts/{{account}}/statements/{{date}}",
                (HttpContext http, string account, string date, SandboxState state, ProviderGate gate) => ServeAsync(http, bank, account, date, state, gate));
        }
    }

    private static async Task ServeAsync(HttpContext http, string bank, string account, string date, SandboxState state, ProviderGate gate)
    {
        var counterKey = $"{bank} statements";
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal) || !Stripe.StripeEndpoints.FixedTimeEquals(header[7..].Trim(), state.Options.BankApiKey))
        {
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.Rejected);
            await Stripe.StripeEndpoints.WriteAsync(http, 401, "unauthorized: send Authorization: Bearer <bank key>\n", "text/plain");
            return;
        }
        if (!DateOnly.TryParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.Rejected);
            await Stripe.StripeEndpoints.WriteAsync(http, 400, $"date '{date}' is not yyyy-MM-dd\n", "text/plain");
            return;
        }
        var (fault, hung) = await gate.DelayAndFaultAsync(http.RequestAborted);
        if (fault == ProviderGate.Verdict.ServerError)
        {
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.ServerError);
            await Stripe.StripeEndpoints.WriteAsync(http, 500, "internal error (injected by the sandbox)\n", "text/plain");
            return;
        }
        var statement = state.Banks.Find(bank, account, day);
        if (statement is null)
        {
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.Rejected);
            await Stripe.StripeEndpoints.WriteAsync(http, 404, $"no statement for account {account} on {date}\n", "text/plain");
            return;
        }
        // files are produced the morning after the statement date, as banks deliver prior-day reports
        var producedAt = day.AddDays(1).ToDateTime(new TimeOnly(6, 0), DateTimeKind.Utc);
        var body = bank == BankStore.BankA
            ? Bai2Writer.Write([statement], producedAt, fileId: day.ToString("yyMMdd", CultureInfo.InvariantCulture), version: state.Behavior.BankABaiVersion)
            : Camt053Writer.Write([statement], $"SBX-{account}-{day:yyyyMMdd}", new DateTimeOffset(producedAt));
        state.Counters.Record(counterKey, gate.UnixSecondNow, hung ? SandboxCounters.Outcome.Hung : SandboxCounters.Outcome.Ok);
        await Stripe.StripeEndpoints.WriteAsync(http, 200, body, bank == BankStore.BankA ? "text/plain" : "application/xml");
    }
}
