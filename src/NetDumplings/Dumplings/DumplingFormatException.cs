namespace NetDumplings;

/// <summary>A message from a peer that is not a valid dumpling; the message says exactly what is wrong.</summary>
public sealed class DumplingFormatException : FormatException
{
    public DumplingFormatException(string message, Exception? inner = null) : base(message, inner) { }
}
