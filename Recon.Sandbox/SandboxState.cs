using Recon.Sandbox.Banks;
using Recon.Sandbox.Plaid;
using Recon.Sandbox.Stripe;

namespace Recon.Sandbox;

/// <summary>Everything one sandbox process holds in memory: data per provider, behavior, counters.</summary>
public sealed class SandboxState(SandboxOptions options)
{
    private SandboxBehavior _behavior = options.Behavior;

    public SandboxOptions Options { get; } = options;

    public int Seed => Options.Seed;

    public SandboxBehavior Behavior
    {
        get => Volatile.Read(ref _behavior);
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            value.Validate();
            Volatile.Write(ref _behavior, value);
        }
    }

    public StripeStore Stripe { get; } = new();

    public PlaidStore Plaid { get; } = new();

    public BankStore Banks { get; } = new();

    public SandboxCounters Counters { get; } = new();

    /// <summary>Drops all data and counters; behavior stays.</summary>
    public void Clear()
    {
        Stripe.Clear();
        Plaid.Clear();
        Banks.Clear();
        Counters.Reset();
    }
}
