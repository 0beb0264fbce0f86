using System.Globalization;
using System.Text;

namespace Rampart.Postfix.Tests.Socketmap;

/// <summary>
/// Golden tables under TestData/socketmap/*.tsv: tab-separated, '#' starts a comment line, blank lines skipped.
/// Cells are UTF-8 text with C-style escapes: <c>\\</c>, <c>\t</c>, <c>\n</c>, <c>\r</c>, <c>\0</c>, <c>\xHH</c>
/// (one raw byte). <c>\e</c> alone is the empty cell (so an empty input is visible).
/// </summary>
internal static class Tsv
{
    public static string PathOf(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "socketmap", name);

    /// <summary>Rows as (line number, raw cells).</summary>
    public static IEnumerable<(int Line, string[] Cells)> Rows(string name)
    {
        int line = 0;
        foreach (var text in File.ReadLines(PathOf(name), Encoding.UTF8))
        {
            line++;
            if (text.Length == 0 || text.StartsWith('#'))
            {
                continue;
            }

            yield return (line, text.Split('\t'));
        }
    }

    public static byte[] Bytes(string cell)
    {
        if (cell == "\\e")
        {
            return [];
        }

        var output = new List<byte>();
        var utf8 = Encoding.UTF8;
        for (int i = 0; i < cell.Length; i++)
        {
            char c = cell[i];
            if (c != '\\')
            {
                int len = char.IsHighSurrogate(c) ? 2 : 1;
                output.AddRange(utf8.GetBytes(cell.Substring(i, len)));
                i += len - 1;
                continue;
            }

            char e = cell[++i];
            switch (e)
            {
                case '\\': output.Add((byte)'\\'); break;
                case 't': output.Add((byte)'\t'); break;
                case 'n': output.Add((byte)'\n'); break;
                case 'r': output.Add((byte)'\r'); break;
                case '0': output.Add(0); break;
                case 'x':
                    output.Add(byte.Parse(cell.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i += 2;
                    break;
                default: throw new FormatException($"unknown escape \\{e} in '{cell}'");
            }
        }

        return [.. output];
    }

    public static string Text(string cell) => Encoding.UTF8.GetString(Bytes(cell));

    /// <summary>Readable form of bytes for assertion messages (the inverse of <see cref="Bytes"/> for ASCII).</summary>
    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder();
        foreach (byte b in bytes)
        {
            sb.Append(b switch
            {
                (byte)'\\' => "\\\\",
                (byte)'\t' => "\\t",
                (byte)'\n' => "\\n",
                (byte)'\r' => "\\r",
                >= 0x20 and < 0x7f => ((char)b).ToString(),
                _ => string.Create(CultureInfo.InvariantCulture, $"\\x{b:x2}"),
            });
        }

        return sb.ToString();
    }
}
