using System.Management.Automation;
using System.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NetDumplings.Protocol;
using NetDumplings.WebSockets;

namespace NetDumplings.PowerShell.Cmdlets;

/// <summary>
/// Lets a SecureString parameter take a plain string too (as the issue asks of -Token, -KitchenToken
/// and -EaterToken): Invoke-RestMethod -Token insists on a SecureString, which makes scripts that read
/// a token from a file or a variable clumsy for no safety gained.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class TokenTransformationAttribute : ArgumentTransformationAttribute
{
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject ps ? ps.BaseObject : inputData;
        if (value is not string text) return inputData;
        var secure = new SecureString();
        foreach (var c in text) secure.AppendChar(c);
        secure.MakeReadOnly();
        return secure;
    }
}

/// <summary>Loading what the security parameters name (tokens, certificate files), with one ErrorRecord per cause.</summary>
internal static class SecurityParameters
{
    public static ErrorRecord TokenError(ArgumentException e, string parameter) => Errors.Record(
        new ArgumentException($"-{parameter}: {e.Message}", e), "InvalidToken", ErrorCategory.InvalidArgument, parameter,
        "Use a token of printable ASCII characters without spaces, e.g. one made by [Convert]::ToHexString([Security.Cryptography.RandomNumberGenerator]::GetBytes(24)).");

    public static ErrorRecord FileError(Exception e, string parameter, string path) => Errors.Record(
        new ArgumentException($"-{parameter} '{path}': {e.Message}", e),
        e is FileNotFoundException or DirectoryNotFoundException ? "CertificateFileNotFound" : "InvalidCertificateFile",
        e is FileNotFoundException or DirectoryNotFoundException ? ErrorCategory.ObjectNotFound : ErrorCategory.InvalidData, path,
        "Give a PEM file (-----BEGIN CERTIFICATE-----, with its key in the same file or in -KeyPath) or a PFX file without a password.");

    public static bool IsFileProblem(Exception e) => e is IOException or UnauthorizedAccessException or CryptographicException;
}
