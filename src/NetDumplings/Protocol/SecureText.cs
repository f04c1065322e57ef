using System.Runtime.InteropServices;
using System.Security;

namespace NetDumplings.Protocol;

/// <summary>The text of a SecureString (as PowerShell's -Token and credential parameters take secrets), for the moment it is sent.</summary>
internal static class SecureText
{
    public static string Of(SecureString value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var pointer = Marshal.SecureStringToGlobalAllocUnicode(value);
        try { return Marshal.PtrToStringUni(pointer, value.Length); }
        finally { Marshal.ZeroFreeGlobalAllocUnicode(pointer); }
    }
}
