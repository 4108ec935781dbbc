namespace Recon.Core.Review;

/// <summary>Who a person's action is recorded as (<c>Recon:Review</c>).</summary>
/// <remarks>On Azure the Functions app names the caller from the <c>x-ms-client-principal-name</c> header App Service
/// authentication sets (an Entra sign-in); a call with only a function key has no person behind it and is recorded as
/// <see cref="Operator"/> when configured, else <see cref="FunctionKeyActor"/>. Recon.Worker listens on loopback only, so
/// whoever reaches it is on this machine: it records <see cref="Operator"/>, by default the account running it.</remarks>
public sealed class ReviewOptions
{
    public const string SectionName = "Recon:Review";

    /// <summary>The actor of a Functions call authorized by a function key alone.</summary>
    public const string FunctionKeyActor = "function-key";

    /// <summary>The name recorded for actions without a signed-in principal.</summary>
    public string? Operator { get; set; }

    /// <summary>The actor of one action: the signed-in principal when the host has one, else the configured operator, else
    /// <paramref name="fallback"/>.</summary>
    public string ActorOf(string? principalName, string fallback)
    {
        ArgumentException.ThrowIfNullOrEmpty(fallback);
        var principal = principalName?.Trim();
        if (!string.IsNullOrEmpty(principal))
        {
            // bounded and single-line: it is written to the audit log as given
            return principal.Length > 200 ? principal[..200] : principal.ReplaceLineEndings(" ");
        }
        return string.IsNullOrWhiteSpace(Operator) ? fallback : Operator.Trim();
    }
}
