using System.Diagnostics;
using System.Text.Json;
using Recon.Sandbox;
using Xunit;

namespace Recon.Tests.Contract;

/// <summary>
/// Runs <c>official-clients.js</c> once: Stripe's and Plaid's official Node clients against a sandbox started here,
/// each answer compared with what the real API sends. Every check becomes one test case, so a difference from the
/// providers shows up by name in the test summary.
/// </summary>
public sealed class OfficialClientsRun : IAsyncLifetime
{
    /// <summary>The script's whole run: client calls, 429 windows and one retried 5xx take a few seconds; two minutes
    /// means node or a client hangs, which must fail rather than stall the suite.</summary>
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(2);

    public Dictionary<string, (bool Ok, string Detail)> Checks { get; } = new(StringComparer.Ordinal);

    /// <summary>Why the script could not run at all (no node, clients not installed, crash); null when it ran.</summary>
    public string? Failure { get; private set; }

    public async Task InitializeAsync()
    {
        var root = RepositoryRoot();
        var modules = Path.Combine(Environment.GetEnvironmentVariable("RECON_TOOLS_DIR") ?? Path.Combine(root, ".tools"), "node_modules");
        if (!File.Exists(Path.Combine(modules, "stripe", "package.json")) || !File.Exists(Path.Combine(modules, "plaid", "package.json")))
        {
            Failure = $"the official clients are not installed in {modules}: ./recon test installs them (npm stripe and plaid, see install_missing in ./recon)";
            return;
        }
        await using var sandbox = await SandboxHost.StartAsync(SandboxOptions.WithRandomKeys());
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(root, "Recon.Tests", "Contract", "official-clients.js"));
        start.Environment["NODE_PATH"] = modules;
        start.Environment["SANDBOX_URL"] = sandbox.BaseUrl;
        start.Environment["SANDBOX_ADMIN_KEY"] = sandbox.Options.AdminKey;
        start.Environment["STRIPE_KEY"] = sandbox.Options.StripeApiKey;
        start.Environment["PLAID_CLIENT_ID"] = sandbox.Options.PlaidClientId;
        start.Environment["PLAID_SECRET"] = sandbox.Options.PlaidSecret;
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Failure = $"node could not be started ({ex.Message}): Node.js 20 is needed for the official-clients contract";
            return;
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(ScriptTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                Failure = $"official-clients.js did not finish within {ScriptTimeout.TotalSeconds:0} s";
                return;
            }
            var lastLine = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
            if (process.ExitCode != 0 || lastLine is null)
            {
                Failure = $"official-clients.js exited {process.ExitCode}: {await stderr}";
                return;
            }
            using var result = JsonDocument.Parse(lastLine);
            foreach (var c in result.RootElement.GetProperty("checks").EnumerateArray())
            {
                Checks[c.GetProperty("name").GetString()!] = (c.GetProperty("ok").GetBoolean(), c.GetProperty("detail").GetString() ?? "");
            }
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Recon.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no Recon.sln above {AppContext.BaseDirectory}");
    }
}

/// <summary>Each check of the official-clients contract (see <c>official-clients.js</c> for what each one calls and expects).</summary>
public sealed class OfficialClientsContractTests(OfficialClientsRun run) : IClassFixture<OfficialClientsRun>
{
    /// <summary>Every check the script makes; a check it stops reporting fails here, one it adds fails <see cref="Script_ReportsExactlyTheListedChecks"/>.</summary>
    public static readonly string[] Names =
    [
        "stripe.list.page_and_request_id", "stripe.fields.balance_transaction", "stripe.fields.charge", "stripe.fields.payout",
        "stripe.auto_paging.all_once_newest_first", "stripe.ending_before",
        "stripe.filter.type", "stripe.filter.currency", "stripe.filter.source", "stripe.filter.payout", "stripe.filter.created",
        "stripe.filter.payout_status", "stripe.filter.charge_customer",
        "stripe.expand.list_source", "stripe.expand.retrieve_balance_transaction", "stripe.expand.not_expandable",
        "stripe.error.unknown_parameter", "stripe.error.invalid_limit", "stripe.error.no_such_object", "stripe.error.unknown_payout_filter",
        "stripe.error.unrecognized_url", "stripe.error.unsupported_method", "stripe.auth.wrong_key",
        "stripe.429.real_headers", "stripe.429.test_mode_limit_25", "stripe.5xx.should_retry_honoured",
        "plaid.sync.paging", "plaid.sync.transaction_fields", "plaid.sync.accounts", "plaid.sync.original_description_off_by_default",
        "plaid.sync.original_description_on_request", "plaid.sync.amounts_plain_numbers",
        "plaid.auth.missing_credentials", "plaid.auth.wrong_secret", "plaid.error.unknown_access_token", "plaid.error.count_out_of_range",
        "plaid.429.rate_limit_exceeded", "plaid.5xx.api_error",
    ];

    public static IEnumerable<object[]> Checks() => Names.Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(Checks))]
    public void OfficialClient_Check_AnswersAsTheRealApi(string name)
    {
        Assert.True(run.Failure is null, run.Failure);
        Assert.True(run.Checks.TryGetValue(name, out var result), $"the script did not report '{name}' (reported: {string.Join(", ", run.Checks.Keys)})");
        Assert.True(result.Ok, $"{name}: {result.Detail}");
    }

    [Fact]
    public void Script_ReportsExactlyTheListedChecks()
    {
        Assert.True(run.Failure is null, run.Failure);
        Assert.Equal(Names.Order(StringComparer.Ordinal), run.Checks.Keys.Order(StringComparer.Ordinal));
    }
}
