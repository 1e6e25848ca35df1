"""Server-side tools the model can call over Live: the registry and the built-in tools."""

from liveavatar.tools.builtin import current_time_tool, default_tools, knowledge_tool
from liveavatar.tools.registry import Tool, ToolHandler, ToolRegistry, ToolResult, ToolUserError

__all__ = [
    "Tool",
    "ToolHandler",
    "ToolRegistry",
    "ToolResult",
    "ToolUserError",
    "current_time_tool",
    "default_tools",
    "knowledge_tool",
]
