using System.Security;
using System.Security.Cryptography;
using System.Text;

namespace NetDumplings.Protocol;

/// <summary>
/// A hub token (PROTOCOL.md, "Authentication"): what a hub requires of a role's port and what a
/// client presents. It never shows its value: <see cref="ToString"/> (and so any options record
/// that holds one, and any log line) prints a placeholder.
/// </summary>
public sealed class AccessToken
{
    private readonly string _value;
    private readonly byte[] _hash;

    /// <param name="value">Printable ASCII without spaces (it travels in an HTTP header and a URL).</param>
    public AccessToken(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length == 0) throw new ArgumentException("A token must not be empty.", nameof(value));
        if (value.Length > 4096) throw new ArgumentException("A token must be at most 4096 characters.", nameof(value));
        foreach (var c in value)
            if (c is < '!' or > '~')
                throw new ArgumentException("A token may hold printable ASCII characters only (no spaces or line breaks): it travels in an HTTP header and a URL.", nameof(value));
        _value = value;
        _hash = SHA256.HashData(Encoding.ASCII.GetBytes(value));
    }

    /// <summary>A token from a SecureString (as PowerShell's -Token parameters take it).</summary>
    public static AccessToken FromSecureString(SecureString value) => new(SecureText.Of(value));

    /// <summary>The value, for the one place that sends it (the client handshake).</summary>
    internal string Value => _value;

    /// <summary>
    /// True when <paramref name="presented"/> is this token. Compares SHA-256 digests in constant time,
    /// so neither the position of the first wrong character nor the token's length shows in the timing.
    /// </summary>
    public bool Matches(string? presented)
    {
        if (presented is null) return false;
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        return CryptographicOperations.FixedTimeEquals(digest, _hash);
    }

    public override string ToString() => "(token hidden)";
}
