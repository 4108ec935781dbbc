using Recon.Core.Domain;
using Recon.Core.Ingestion;
using Recon.Core.Ingestion.Banks;
using Recon.Core.Ingestion.Statements;
using Recon.Sandbox;
using Recon.Sandbox.Banks;

namespace Recon.Tests.Ingestion;

public sealed class BankIngestionTests : IAsyncLifetime
{
    private static readonly DateOnly Day = new(2025, 5, 6);
    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private RunningSandbox _sandbox = null!;

    public async Task InitializeAsync() => _sandbox = await SandboxHost.StartAsync(SandboxOptions.WithRandomKeys());

    public async Task DisposeAsync()
    {
        await _sandbox.DisposeAsync();
        _http.Dispose();
    }

    [Theory]
    [InlineData(Providers.BankA, BankStore.BankA, "123456789", "USD")]
    [InlineData(Providers.BankB, BankStore.BankB, "DE89370400440532013000", "EUR")]
    public async Task FetchStatement_FromSandbox_ParsesBackTheLoadedTransactions(string provider, string bank, string account, string currency)
    {
        var transactions = new[]
        {
            Tx(provider, account, currency, "A1", 1_250_000, Day, Day, "WIRE-INV-1001", "E2E-1", "ACME CORP INV 1001"),
            Tx(provider, account, currency, "A2", -4_599, Day, Day.AddDays(1), "ACH-77", "E2E-2", "PAYROLL"),
        };
        var statement = new BankStatement(account, currency, 10_000_000, 10_000_000 + 1_250_000 - 4_599, Day, null, transactions);
        await _sandbox.Admin(_http).LoadBankStatementsAsync(bank, [statement]);
        var fetcher = new BankStatementFetcher(provider, new BankProviderOptions { BaseUrl = $"{_sandbox.BaseUrl}/{bank}", ApiKey = _sandbox.Options.BankApiKey }, _http, null);

        var file = await fetcher.FetchStatementAsync(account, Day, CancellationToken.None);
        var missing = await fetcher.FetchStatementAsync(account, Day.AddDays(1), CancellationToken.None);
        var page = await fetcher.FetchPageAsync(new PageRequest(provider, account, Day, Day.AddDays(1), null, 100), CancellationToken.None);

        Assert.NotNull(file);
        Assert.Equal(provider == Providers.BankA ? StatementFormats.Bai2 : StatementFormats.Camt053, file.Format);
        var parsed = Assert.Single(file.Statements);
        Assert.Equal((account, currency, 10_000_000L, 11_245_401L), (parsed.Account, parsed.Currency, parsed.OpeningMinor!.Value, parsed.ClosingMinor!.Value));
        Assert.Equal(
            transactions.Select(t => (t.Provider, t.AmountMinor, t.Currency, t.ValueDate, t.BankReference)),
            parsed.Transactions.Select(t => (t.Provider, t.AmountMinor, t.Currency, t.ValueDate, t.BankReference)));
        Assert.Null(missing);
        Assert.Equal(2, page.Transactions.Count);
        Assert.True(page.HasMore);
        Assert.Equal(Day.AddDays(1).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), page.NextCursor);
    }

    [Fact]
    public async Task FetchStatement_BankASendsBtrsVersion3_ParsedWithTheSameChecks()
    {
        const string account = "987654321";
        var transactions = new[] { Tx(Providers.BankA, account, "USD", "B1", 52_500, Day, Day, "WIRE-9", "E2E-9", "BTRS CREDIT") };
        await _sandbox.Admin(_http).LoadBankStatementsAsync(BankStore.BankA, [new BankStatement(account, "USD", 1_000, 53_500, Day, null, transactions)]);
        await _sandbox.Admin(_http).SetBehaviorAsync(new SandboxBehavior { BankABaiVersion = 3 });
        var fetcher = new BankStatementFetcher(Providers.BankA, new BankProviderOptions { BaseUrl = _sandbox.BankAUrl, ApiKey = _sandbox.Options.BankApiKey }, _http, null);

        var file = await fetcher.FetchStatementAsync(account, Day, CancellationToken.None);

        Assert.NotNull(file);
        Assert.Equal((StatementFormats.Bai2, (int?)3), (file.Format, file.Version));
        var parsed = Assert.Single(file.Statements);
        Assert.Equal((1_000L, 53_500L), (parsed.OpeningMinor!.Value, parsed.ClosingMinor!.Value));
        Assert.Equal(52_500, Assert.Single(parsed.Transactions).AmountMinor);
    }

    [Fact]
    public async Task FetchStatement_WrongKey_FailsNamingTheStatus()
    {
        var fetcher = new BankStatementFetcher(Providers.BankA, new BankProviderOptions { BaseUrl = _sandbox.BankAUrl, ApiKey = "wrong" }, _http, null);

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => fetcher.FetchStatementAsync("1", Day, CancellationToken.None));

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, ex.StatusCode);
    }

    private static ProviderTransaction Tx(string provider, string account, string currency, string id, long amount, DateOnly booked, DateOnly value, string bankRef, string e2e, string text)
        => new(provider, id, account, amount, 0, currency, booked, value, bankRef, e2e, text, null);
}
