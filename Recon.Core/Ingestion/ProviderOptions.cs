namespace Recon.Core.Ingestion;

/// <summary>Where the providers answer and with which keys: configuration section <c>Recon:Providers</c>
/// (env <c>Recon__Providers__Stripe__ApiBase</c> etc., written by <c>./recon up</c> for the local sandboxes).</summary>
public sealed class ProviderOptions
{
    public const string SectionName = "Recon:Providers";

    public StripeProviderOptions Stripe { get; set; } = new();

    public PlaidProviderOptions Plaid { get; set; } = new();

    public BankProviderOptions BankA { get; set; } = new();

    public BankProviderOptions BankB { get; set; } = new();
}

/// <summary>Stripe API base (<c>https://api.stripe.com</c> in production) and secret key.</summary>
public sealed class StripeProviderOptions
{
    public string ApiBase { get; set; } = "https://api.stripe.com";

    public string ApiKey { get; set; } = "";

    /// <summary>Per-call timeout; <see cref="ProviderCalls.ProviderCallTimeout"/> unless a test shortens it.</summary>
    public TimeSpan CallTimeout { get; set; } = ProviderCalls.ProviderCallTimeout;
}

/// <summary>Plaid base URL (<c>https://production.plaid.com</c>) and client credentials.</summary>
public sealed class PlaidProviderOptions
{
    public string BaseUrl { get; set; } = "https://production.plaid.com";

    public string ClientId { get; set; } = "";

    public string Secret { get; set; } = "";

    public TimeSpan CallTimeout { get; set; } = ProviderCalls.ProviderCallTimeout;
}

/// <summary>A bank's statement endpoint (<c>{BaseUrl}/v1/accounts/{account}/statements/{date}</c>) and bearer key.</summary>
public sealed class BankProviderOptions
{
    public string BaseUrl { get; set; } = "";

    public string ApiKey { get; set; } = "";

    public TimeSpan CallTimeout { get; set; } = ProviderCalls.ProviderCallTimeout;
}
