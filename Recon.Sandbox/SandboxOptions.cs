namespace Recon.Sandbox;

/// <summary>How a sandbox process starts: where it listens and the keys its clients must present.</summary>
/// <remarks>Keys have no defaults on purpose: <c>./recon up</c> generates them into <c>.recon/secrets.env</c>, tests
/// call <see cref="WithRandomKeys"/>. Nothing secret lives in the repository.</remarks>
public sealed class SandboxOptions
{
    public const string SectionName = "Sandbox";

    /// <summary>Loopback only: the sandboxes are test doubles, never exposed.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>0 picks a free port (tests); <c>./recon up</c> passes RECON_SANDBOX_PORT.</summary>
    public int Port { get; set; }

    /// <summary>Stripe secret key clients send as <c>Authorization: Bearer</c>.</summary>
    public string StripeApiKey { get; set; } = "";

    public string PlaidClientId { get; set; } = "";

    public string PlaidSecret { get; set; } = "";

    /// <summary>Bearer key for both bank file endpoints.</summary>
    public string BankApiKey { get; set; } = "";

    /// <summary>Header <c>X-Sandbox-Admin-Key</c> on every <c>/admin</c> call (load data, set faults, read counters).</summary>
    public string AdminKey { get; set; } = "";

    /// <summary>Limits, latency and faults at start; the admin endpoint can replace them while running.</summary>
    public SandboxBehavior Behavior { get; set; } = new();

    /// <summary>Seed of the latency and fault dice, so a run can be repeated.</summary>
    public int Seed { get; set; } = 1;

    /// <param name="behavior">Limits, latency and faults; the providers' defaults when null.</param>
    /// <param name="stripeLiveMode">True hands out an <c>sk_live_</c>-shaped key, so the sandbox applies Stripe's
    /// live-mode limits (100/s global, 25/s per endpoint) instead of test mode's 25/s: what a production-like benchmark needs.</param>
    public static SandboxOptions WithRandomKeys(SandboxBehavior? behavior = null, bool stripeLiveMode = false) => new()
    {
        StripeApiKey = (stripeLiveMode ? "sk_live_" : "sk_test_") + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)),
        PlaidClientId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12)),
        PlaidSecret = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)),
        BankApiKey = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)),
        AdminKey = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)),
        Behavior = behavior ?? new SandboxBehavior(),
    };

    internal void Validate()
    {
        foreach (var (value, name) in new[] { (StripeApiKey, nameof(StripeApiKey)), (PlaidClientId, nameof(PlaidClientId)), (PlaidSecret, nameof(PlaidSecret)), (BankApiKey, nameof(BankApiKey)), (AdminKey, nameof(AdminKey)) })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new InvalidOperationException($"{SectionName}:{name} is empty: ./recon up generates it into .recon/secrets.env (env Sandbox__{name}).");
            }
        }
        Behavior.Validate();
    }
}

/// <summary>Limits, latency and faults; replaced as a whole through <c>PUT /admin/behavior</c>.</summary>
public sealed record SandboxBehavior
{
    /// <summary>Stripe's live-mode global limit is 100 requests per second.</summary>
    public int StripeGlobalPerSecond { get; init; } = 100;

    /// <summary>Stripe's default per-endpoint limit is 25 requests per second.</summary>
    public int StripePerEndpointPerSecond { get; init; } = 25;

    /// <summary>Stripe's test-mode limit (any key but <c>sk_live_</c>/<c>rk_live_</c>): 25 requests per second in all.</summary>
    public int StripeTestModePerSecond { get; init; } = 25;

    /// <summary>Bank A's file version: 2 (BAI2) or 3 (BTRS, as banks that moved to X9.121 send).</summary>
    public int BankABaiVersion { get; init; } = 2;

    /// <summary>Off turns every limit off (for loading large scenarios fast).</summary>
    public bool LimitsEnabled { get; init; } = true;


    /// <summary>Plaid limits /transactions/sync to 50 calls per minute per item.</summary>
    public int PlaidSyncPerItemPerMinute { get; init; } = 50;

    /// <summary>Median of the log-normal latency added to every provider call; 0 adds none.</summary>
    public double LatencyMedianMs { get; init; }

    /// <summary>Log-normal shape: 0.5 gives a p99 near 3.2 × median.</summary>
    public double LatencySigma { get; init; } = 0.5;

    /// <summary>Latency cap, so one draw from the tail cannot stall a test.</summary>
    public int LatencyMaxMs { get; init; } = 5_000;

    /// <summary>Share of provider calls answered 500 (with <c>Stripe-Should-Retry: true</c> on Stripe).</summary>
    public double ServerErrorShare { get; init; }

    /// <summary>Share of provider calls that hang for <see cref="HangMs"/> before answering.</summary>
    public double HangShare { get; init; }

    /// <summary>15 s: longer than Recon's 10 s provider call timeout, which is what the fault exists to exercise.</summary>
    public int HangMs { get; init; } = 15_000;

    internal void Validate()
    {
        if (StripeGlobalPerSecond < 1 || StripePerEndpointPerSecond < 1 || StripeTestModePerSecond < 1 || PlaidSyncPerItemPerMinute < 1)
        {
            throw new ArgumentException("limits must be at least 1 per window");
        }
        if (BankABaiVersion is not (2 or 3))
        {
            throw new ArgumentException("BankABaiVersion is 2 (BAI2) or 3 (BTRS)");
        }
        if (ServerErrorShare is < 0 or > 1 || HangShare is < 0 or > 1 || ServerErrorShare + HangShare > 1)
        {
            throw new ArgumentException("ServerErrorShare and HangShare are shares between 0 and 1 and together at most 1");
        }
        if (LatencyMedianMs < 0 || LatencySigma < 0 || LatencyMaxMs < 0 || HangMs < 0)
        {
            throw new ArgumentException("latency and hang settings cannot be negative");
        }
    }
}
