using System.Diagnostics;
using System.Text;

namespace Rampart.Storage.Tests.Support;

/// <summary>
/// This test assembly run again as a child process, filtered to one explicit test method (the child's side of a
/// crash test), under the same host as this run, with <paramref name="environment"/> set; its output is collected.
/// </summary>
internal static class TestChildProcess
{
    public static Process Start(Type testClass, string method, IReadOnlyDictionary<string, string> environment, StringBuilder output)
    {
        string assembly = testClass.Assembly.Location;
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (Path.GetFileName(host) is "dotnet" or "dotnet.exe")
        {
            start.ArgumentList.Add("exec");
            start.ArgumentList.Add(assembly);
        }
        else if (Path.GetFileName(host).Replace(".exe", "", StringComparison.Ordinal) != testClass.Assembly.GetName().Name)
        {
            throw new InvalidOperationException($"unexpected test host '{host}'");
        }

        foreach (string arg in new[]
        {
            "-method", $"{testClass.FullName}.{method}",
            "-explicit", "only", "-noLogo", "-noColor", // the xunit v3 in-process runner's own options
        })
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        var child = new Process { StartInfo = start };
        child.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        child.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        child.Start();
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        return child;
    }
}
